"""Drop the unique keys that made a skill's name (and a schedule's) unique per workspace.

SQLite cannot drop a table constraint: the table is rebuilt the way SQLite documents it
(https://www.sqlite.org/lang_altertable.html#otheralter) — foreign keys off, then in one
transaction: create the new table, copy the rows, drop the old one, rename, recreate its
indexes, check the foreign keys, commit. So this migration is not atomic as a whole; each
step is. Other databases drop the constraint with one statement.
"""

import re

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.transactions import in_transaction


class DropUniqueTogether(ops.RemoveConstraint):
    """RemoveConstraint for a `unique_together`, that also works on SQLite."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor is None:
            return
        if state_editor.client.capabilities.dialect != "sqlite":
            await super().database_forward(app_label, old_state, new_state, state_editor)
            return
        model = old_state.apps.get_model(f"{app_label}.{self.model_name}")
        columns = [model._meta.fields_map[f].source_field or f for f in self.fields]
        await _sqlite_rebuild_without_unique(state_editor.client, model._meta.db_table, columns)


def _without_unique(create_sql: str, columns: list[str]) -> str:
    cols = r"\s*,\s*".join(rf'"?{re.escape(c)}"?' for c in columns)
    clause = re.compile(rf',\s*(?:CONSTRAINT\s+"[^"]+"\s+)?UNIQUE\s*\(\s*{cols}\s*\)', re.I)
    found, count = clause.subn("", create_sql, count=1)
    return found if count else ""


async def _sqlite_rebuild_without_unique(client, table: str, columns: list[str]) -> None:
    _, rows = await client.execute_query(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ?", [table]
    )
    create = next((r["sql"] for r in rows if r["type"] == "table"), None)
    indexes = [r["sql"] for r in rows if r["type"] == "index" and r["sql"]]
    if create is None:
        raise RuntimeError(f"table {table} is missing")
    kept = _without_unique(create, columns)
    if not kept:
        return  # no such constraint left (e.g. made by another path): nothing to drop
    new_table = f"new__{table}"
    new_create = re.sub(rf'^CREATE TABLE\s+"?{re.escape(table)}"?', f'CREATE TABLE "{new_table}"', kept)
    await client.execute_script("PRAGMA foreign_keys = OFF")
    try:
        # One statement at a time: executescript() would COMMIT on its own.
        async with in_transaction(client.connection_name) as tx:
            await tx.execute_query(new_create)
            await tx.execute_query(f'INSERT INTO "{new_table}" SELECT * FROM "{table}"')
            await tx.execute_query(f'DROP TABLE "{table}"')
            await tx.execute_query(f'ALTER TABLE "{new_table}" RENAME TO "{table}"')
            for index in indexes:
                await tx.execute_query(index)
            _, broken = await tx.execute_query("PRAGMA foreign_key_check")
            if broken:
                raise RuntimeError(f"rebuilding {table} would break foreign keys: {broken[:3]}")
    finally:
        await client.execute_script("PRAGMA foreign_keys = ON")


class Migration(migrations.Migration):
    dependencies = [('apprentice', '0003_skills_belong_to_a_team')]

    initial = False
    atomic = False

    operations = [
        DropUniqueTogether(model_name='Skill', fields=['tenant', 'name']),
        DropUniqueTogether(model_name='SkillSchedule', fields=['tenant', 'user_id', 'skill_name']),
    ]
