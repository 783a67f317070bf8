-- Test copy: the last script that JobStore ran at every start-up before Flyway (with OWNER); a
-- database it made must upgrade in place. Kept as it was below this comment.
-- ringbatch's own job table, beside Spring Batch's BATCH_* tables. Run at every start-up by
-- io.ringbatch.api.JobStore; every statement is idempotent. Portable SQL (H2 2.x and PostgreSQL 10+).
--
-- ID          time-ordered (Crockford base32 of the milliseconds, then a counter): ORDER BY ID DESC is
--             newest first
-- STATUS      QUEUED until the job runner starts it, then the status of its latest Spring Batch
--             execution as last seen (STARTING, STARTED, STOPPING, STOPPED, COMPLETED, FAILED,
--             ABANDONED, UNKNOWN)
-- QUEUE_ORDER when it was (last) queued, same format as ID: queued jobs start in this order
-- SPEC        JSON: {"request": the submitted body, "definition": what the runner gets}
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
    CONSTRAINT RB_JOB_PK PRIMARY KEY (ID),
    CONSTRAINT RB_JOB_IDEMPOTENCY_KEY UNIQUE (IDEMPOTENCY_KEY)
);

-- a page of jobs of some statuses, newest first; counts by status; the queue (at most
-- ringbatch.queue-capacity rows of one status) and the running jobs
CREATE INDEX IF NOT EXISTS RB_JOB_STATUS_ID ON RB_JOB (STATUS, ID);

-- OWNER       the instance (ringbatch.instance-id) that first ran the job: its work directory is
--             there, so with several instances on one repository (PostgreSQL) only that one restarts
--             it; null while it never ran
ALTER TABLE RB_JOB ADD COLUMN IF NOT EXISTS OWNER VARCHAR(200);
