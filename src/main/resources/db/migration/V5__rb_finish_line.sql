-- The line between a stop and the finish step's rename that puts a job's output in place, one row per
-- job whose current execution has reached it (FinishLine): whichever inserts the job's row first wins,
-- on whichever instance of this database it runs. A stop that comes first keeps the output out (the
-- finish step ends STOPPED, a restart merges again); a rename that comes first makes later stops of
-- that execution refused (409, "completing"), so the job ends COMPLETED. The row is deleted when an
-- execution starts (start, restart) and when it ends.
--
-- JOB_ID  the job's id (the jobId parameter of its Spring Batch job instance)
-- CROSSED true: the finish step renames (renamed) the output into place; false: a stop came first
CREATE TABLE RB_FINISH_LINE (
    JOB_ID  VARCHAR(255) NOT NULL,
    CROSSED BOOLEAN      NOT NULL,
    CONSTRAINT RB_FINISH_LINE_PK PRIMARY KEY (JOB_ID)
);
