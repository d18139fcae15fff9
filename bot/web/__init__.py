"""The bot's own web pages (the admin pages); the console's pages live in adapters/console."""
