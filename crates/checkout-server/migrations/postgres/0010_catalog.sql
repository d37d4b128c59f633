-- The shop's catalog as data (CONTRACT §17). Additive only (an expand step): a server
-- of the previous release keeps reading `catalog_overrides` and its compiled catalog;
-- this release folds those overrides into the first stored catalog and reads only
-- `catalogs`. (`catalog_overrides` is dropped by a later release's contract step.)

-- Each version of the whole catalog document (JSON), as the admin stored it; the
-- highest version is the catalog. Versions are never reused: two admins storing the
-- same next version at once, one of them is refused (PRECONDITION_FAILED).
CREATE TABLE catalogs (
    version    BIGINT PRIMARY KEY,
    document   TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
