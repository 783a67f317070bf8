-- PostgreSQL only (classpath:db/vendor/{vendor}): the queue of partition requests that carries a job's
-- partitions to every instance (Spring Integration's JDBC channel message store, on the same database as
-- the job repository), and the partitions' leases. H2 (one instance) has neither: its partitions run on
-- the local executor.
--
-- INT_CHANNEL_MESSAGE and its sequence are Spring Integration 7.0's schema-postgresql.sql, with the
-- priority index (the store polls by MESSAGE_PRIORITY DESC: largest partitions first across the cluster)
-- and the NOTIFY trigger that the shipped script leaves commented out (PostgresChannelMessageTableSubscriber
-- LISTENs on int_channel_message_notify). The other INT_ tables of that script (message groups, locks,
-- metadata) are not used by ringbatch and are not made.

CREATE SEQUENCE IF NOT EXISTS INT_MESSAGE_SEQ START WITH 1 INCREMENT BY 1 NO CYCLE;

CREATE TABLE IF NOT EXISTS INT_CHANNEL_MESSAGE (
    MESSAGE_ID CHAR(36) NOT NULL,
    GROUP_KEY CHAR(36) NOT NULL,
    CREATED_DATE BIGINT NOT NULL,
    MESSAGE_PRIORITY BIGINT,
    MESSAGE_SEQUENCE BIGINT NOT NULL DEFAULT nextval('INT_MESSAGE_SEQ'),
    MESSAGE_CONTENT BYTEA,
    REGION VARCHAR(100) NOT NULL,
    CONSTRAINT INT_CHANNEL_MESSAGE_PK PRIMARY KEY (REGION, GROUP_KEY, CREATED_DATE, MESSAGE_SEQUENCE)
);

CREATE INDEX IF NOT EXISTS INT_CHANNEL_MSG_DELETE_IDX ON INT_CHANNEL_MESSAGE (REGION, GROUP_KEY, MESSAGE_ID);

CREATE UNIQUE INDEX IF NOT EXISTS INT_CHANNEL_MSG_PRIORITY_IDX
    ON INT_CHANNEL_MESSAGE (REGION, GROUP_KEY, MESSAGE_PRIORITY DESC NULLS LAST, CREATED_DATE, MESSAGE_SEQUENCE);

CREATE OR REPLACE FUNCTION INT_CHANNEL_MESSAGE_NOTIFY_FCT()
RETURNS TRIGGER AS
$BODY$
BEGIN
    PERFORM pg_notify('int_channel_message_notify', NEW.REGION || ' ' || NEW.GROUP_KEY);
    RETURN NEW;
END;
$BODY$
LANGUAGE PLPGSQL;

DROP TRIGGER IF EXISTS INT_CHANNEL_MESSAGE_NOTIFY_TRG ON INT_CHANNEL_MESSAGE;
CREATE TRIGGER INT_CHANNEL_MESSAGE_NOTIFY_TRG
    AFTER INSERT ON INT_CHANNEL_MESSAGE
    FOR EACH ROW
    EXECUTE PROCEDURE INT_CHANNEL_MESSAGE_NOTIFY_FCT();

-- One row per partition attempt that an instance runs: the instance renews RENEWED_AT every
-- ringbatch.cluster.heartbeat while it also holds the attempt's advisory lock on an idle connection.
-- The manager counts an attempt as lost when neither the lease (lock held, renewed within the loss
-- timeout) nor its queued request says it is alive.
CREATE TABLE IF NOT EXISTS RB_LEASE (
    STEP_EXECUTION_ID BIGINT NOT NULL PRIMARY KEY,
    JOB_EXECUTION_ID BIGINT NOT NULL,
    INSTANCE_ID VARCHAR(200) NOT NULL,
    TAKEN_AT TIMESTAMP WITH TIME ZONE NOT NULL,
    RENEWED_AT TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE INDEX IF NOT EXISTS RB_LEASE_JOB_IX ON RB_LEASE (JOB_EXECUTION_ID);
CREATE INDEX IF NOT EXISTS RB_LEASE_INSTANCE_IX ON RB_LEASE (INSTANCE_ID);
