package io.ringbatch.batch;

import java.util.List;
import javax.sql.DataSource;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The line between a stop and the rename that puts a job's output in place: for each job, whichever comes
 * first wins, on whichever instance of the job repository's database it comes (the table
 * {@code RB_FINISH_LINE}, migration V5). A stop that comes first keeps the output out (the finish step
 * ends STOPPED, and a restart merges again); a rename that comes first makes later stops of that
 * execution refused (the runner answers that the job is completing), so nothing marks it STOPPING between
 * the rename and the step's commit and the job ends COMPLETED at once.
 * <p>
 * Each side inserts the job's row with its own value, in a transaction of its own (the finish step asks
 * from inside its step's transaction, and on PostgreSQL a failed insert would abort that one); the
 * primary key lets one insert through, and every asker then goes by the stored value. The runner resets
 * the line (deletes the row) before an execution starts and when it ends.
 */
@Component
public class FinishLine {
    /** Tries of the insert before giving up, when it fails and no row can be read after it (a race with a reset). */
    private static final int TRIES = 100;

    private final JdbcTemplate jdbc;
    private final TransactionTemplate own;

    public FinishLine(DataSource dataSource, PlatformTransactionManager transactionManager) {
        this.jdbc = new JdbcTemplate(dataSource);
        this.own = new TransactionTemplate(transactionManager);
        this.own.setPropagationBehavior(TransactionDefinition.PROPAGATION_REQUIRES_NEW);
    }

    /** A stop asks to pass: true if the job may stop (its output is not in place, and will not be). */
    public boolean stop(String jobId) {
        return !pass(jobId, false);
    }

    /** The finish step asks to rename: true if no stop came first (and none will be let through after). */
    public boolean cross(String jobId) {
        return pass(jobId, true);
    }

    /** Before an execution starts and once it has ended: the next stop or rename decides afresh. */
    public void reset(String jobId) {
        own.executeWithoutResult(tx -> jdbc.update("DELETE FROM RB_FINISH_LINE WHERE JOB_ID = ?", jobId));
    }

    /** Inserts the job's row as {@code crossed} unless it has one; the stored value, whoever inserted it. */
    private boolean pass(String jobId, boolean crossed) {
        DataAccessException failure = null;
        for (int i = 0; i < TRIES; i++) {
            try {
                own.executeWithoutResult(tx -> jdbc.update(
                        "INSERT INTO RB_FINISH_LINE (JOB_ID, CROSSED) VALUES (?, ?)", jobId, crossed));
                return crossed;
            } catch (DataAccessException e) {
                // most often the other side's row (a duplicate key, after waiting for its transaction on
                // PostgreSQL; H2 may refuse at once while that one is open): its value decides
                failure = e;
            }
            Boolean stored = stored(jobId);
            if (stored != null) {
                return stored;
            }
            // no row to be seen: the other insert was not committed yet, or the row was reset meanwhile
        }
        throw failure;
    }

    private Boolean stored(String jobId) {
        List<Boolean> rows = own.execute(tx -> jdbc.queryForList(
                "SELECT CROSSED FROM RB_FINISH_LINE WHERE JOB_ID = ?", Boolean.class, jobId));
        return rows == null || rows.isEmpty() ? null : rows.get(0);
    }
}
