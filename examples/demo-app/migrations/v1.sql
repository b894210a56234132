-- v1: the first schema. A few rows, so that a restore visibly brings data back.
CREATE TABLE users (
  id serial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE items (
  id serial PRIMARY KEY,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO users (email) VALUES ('smoke-test@example.com');
INSERT INTO items (name) VALUES ('first item'), ('second item'), ('third item'), ('fourth item');
