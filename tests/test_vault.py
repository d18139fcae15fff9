"""Envelope encryption: data keys bound to their person, ciphertexts to their row."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from bot.storage.vault import Vault, VaultError, load_master_key
from tests.conftest import make_settings


def test_ciphertext_moved_to_another_row_does_not_decrypt() -> None:
    vault = Vault(os.urandom(32))
    key = vault.unwrap(vault.new_wrapped_key("1|p"), "1|p")
    blob = vault.encrypt(key, "weekly report", "obs|1|p|row-1")
    assert vault.decrypt(key, blob, "obs|1|p|row-1") == "weekly report"
    with pytest.raises(VaultError):
        vault.decrypt(key, blob, "obs|1|p|row-2")


def test_wrapped_key_of_one_person_does_not_open_for_another() -> None:
    vault = Vault(os.urandom(32))
    wrapped = vault.new_wrapped_key("1|alice")
    with pytest.raises(VaultError):
        vault.unwrap(wrapped, "1|bob")


def test_another_master_key_cannot_unwrap() -> None:
    wrapped = Vault(os.urandom(32)).new_wrapped_key("1|alice")
    with pytest.raises(VaultError, match="another master key"):
        Vault(os.urandom(32)).unwrap(wrapped, "1|alice")


def test_key_file_is_made_once_and_reused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = load_master_key(settings)
    assert load_master_key(settings) == first
    assert settings.key_file.stat().st_mode & 0o777 == 0o600


def test_configured_master_key_wins_over_the_file(tmp_path: Path) -> None:
    key = os.urandom(32)
    settings = make_settings(tmp_path, master_key=base64.b64encode(key).decode())
    assert load_master_key(settings) == key
    assert not settings.key_file.exists()


def test_bad_master_key_says_how_to_make_one(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, master_key="too-short")
    with pytest.raises(VaultError, match="make one with") as info:
        load_master_key(settings)
    assert "too-short" not in str(info.value)
