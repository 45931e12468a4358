-- PostgreSQL's spelling of migrations/0009_dashboard.sql.
CREATE TABLE dashboard_key (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    key        BYTEA NOT NULL CHECK (length(key) = 32),
    created_at BIGINT NOT NULL
);
