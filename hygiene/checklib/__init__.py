"""Pure helpers shared by checks (and by sources deciding what else to read). No I/O here."""
