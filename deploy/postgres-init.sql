-- The database pillowtop writes to (checkpoints and the PostgreSQL processors' tables).
CREATE DATABASE pillowtop;
