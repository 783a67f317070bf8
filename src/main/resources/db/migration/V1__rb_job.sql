-- ringbatch's own job table, beside Spring Batch's BATCH_* tables (those stay with Spring Batch's own
-- script: spring.batch.jdbc.initialize-schema in application.yml). Flyway runs the migrations in this
-- folder at start-up, before the job store is used; portable SQL, the same on H2 2.x and PostgreSQL 10+
-- (a migration whose SQL must differ goes under db/migration/{vendor}, see application.yml).
--
-- This first migration also adopts the table as releases made it before migrations, when a script of
-- idempotent statements ran at every start: Flyway baselines such a database at version 0, below this
-- one, so this runs there too, and every statement here leaves an existing table and its rows alone
-- while bringing it to the shape below. Later migrations are plain: they only ever run after this one.
-- A migration that has shipped is never edited (Flyway compares checksums at every start and refuses to
-- start on a difference): a change to the tables is a new file, V2__what_it_does.sql and so on.
--
-- ID          time-ordered (Crockford base32 of the milliseconds, then a counter): ORDER BY ID DESC is
--             newest first
-- STATUS      QUEUED until the job runner starts it, then the status of its latest Spring Batch
--             execution as last seen (STARTING, STARTED, STOPPING, STOPPED, COMPLETED, FAILED,
--             ABANDONED, UNKNOWN)
-- QUEUE_ORDER when it was (last) queued, same format as ID: queued jobs start in this order
-- SPEC        JSON: {"request": the submitted body, "definition": what the runner gets}
-- OWNER       the instance (ringbatch.instance-id) that first ran the job: its work directory is
--             there, so with several instances on one repository (PostgreSQL) only that one restarts
--             it; null while it never ran
CREATE TABLE IF NOT EXISTS RB_JOB (
    ID              VARCHAR(32)      NOT NULL,
    NAME            VARCHAR(200),
    OPERATION       VARCHAR(100)     NOT NULL,
    STATUS          VARCHAR(20)      NOT NULL,
    QUEUE_ORDER     VARCHAR(32)      NOT NULL,
    SPEC            VARCHAR(1000000) NOT NULL,
    OUTPUT_PATH     VARCHAR(4096)    NOT NULL,
    IDEMPOTENCY_KEY VARCHAR(200),
    ERROR           VARCHAR(4000),
    CREATED_AT      TIMESTAMP WITH TIME ZONE NOT NULL,
    UPDATED_AT      TIMESTAMP WITH TIME ZONE NOT NULL,
    OWNER           VARCHAR(200),
    CONSTRAINT RB_JOB_PK PRIMARY KEY (ID),
    CONSTRAINT RB_JOB_IDEMPOTENCY_KEY UNIQUE (IDEMPOTENCY_KEY)
);

-- the first releases' table had no OWNER: their jobs get null, as jobs that never ran, so any
-- instance may restart them, as the single instance of those releases did
ALTER TABLE RB_JOB ADD COLUMN IF NOT EXISTS OWNER VARCHAR(200);

-- a page of jobs of some statuses, newest first; counts by status; the queue (at most
-- ringbatch.queue-capacity rows of one status) and the running jobs
CREATE INDEX IF NOT EXISTS RB_JOB_STATUS_ID ON RB_JOB (STATUS, ID);

-- the first releases also made an index on (STATUS, QUEUE_ORDER); the queue (at most queue-capacity
-- rows) reads through the one above, so this one only cost every status change a write
DROP INDEX IF EXISTS RB_JOB_STATUS_QUEUE;
