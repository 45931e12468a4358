-- The secret that signs dashboard links: 32 random bytes made on first
-- use, one row. A new key (delete the row) ends every link given out.
CREATE TABLE dashboard_key (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    key        BLOB NOT NULL CHECK (length(key) = 32),
    created_at INTEGER NOT NULL
);
