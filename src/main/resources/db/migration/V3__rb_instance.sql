-- The instances that share this database, one row each, for GET /api/workers and the dashboard's Workers
-- panel. Every instance writes its row at start and then every ringbatch.cluster.heartbeat; a row whose
-- LAST_SEEN is older than ringbatch.cluster.loss-timeout (by the database's clock, so instances need not
-- agree on the time) is not live and is not listed. A row says what an instance is doing; it decides
-- nothing: a partition's lease (PostgreSQL) is what says that it still runs.
--
-- ID                 ringbatch.instance-id
-- ROLE               COMBINED or WORKER (ringbatch.role)
-- THREADS            ringbatch.workers: partitions it runs at once at most
-- PARTITIONS_RUNNING partitions running in it at its last heartbeat
-- STARTED            when the instance started (this process)
-- LAST_SEEN          its last heartbeat, by the database's clock
CREATE TABLE RB_INSTANCE (
    ID                 VARCHAR(200) NOT NULL,
    ROLE               VARCHAR(20)  NOT NULL,
    THREADS            INTEGER      NOT NULL,
    PARTITIONS_RUNNING INTEGER      NOT NULL,
    STARTED            TIMESTAMP WITH TIME ZONE NOT NULL,
    LAST_SEEN          TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT RB_INSTANCE_PK PRIMARY KEY (ID)
);
