//! Storage behind one interface; SQLite today, PostgreSQL to follow.
