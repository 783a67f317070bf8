package io.ringbatch.api;

import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A job's status: QUEUED while it waits for a slot, afterwards the status of its latest Spring Batch
 * execution. JSON and the {@code RB_JOB.STATUS} column hold the names. This enum also says what may be
 * done to a job of each status: the commands refuse anything else with 409, and every view lists what
 * its caller may do ({@link #actions}), so the two cannot disagree.
 */
public enum JobStatus {
    QUEUED, STARTING, STARTED, STOPPING, STOPPED, COMPLETED, FAILED, ABANDONED, UNKNOWN;

    /** Statuses that take one of the max-concurrent-jobs slots. */
    public static final Set<JobStatus> ACTIVE = EnumSet.of(STARTING, STARTED, STOPPING);
    /** Statuses in which a job's output path stays reserved for it. */
    static final Set<JobStatus> CLAIMING = EnumSet.of(QUEUED, STARTING, STARTED, STOPPING, STOPPED, FAILED, UNKNOWN);

    /** What a caller may ask of a job: {@code POST /api/jobs/{id}/stop}, {@code /restart}, {@code /abandon}. */
    public static final String STOP = "stop";
    public static final String RESTART = "restart";
    public static final String ABANDON = "abandon";

    /** Takes a max-concurrent-jobs slot: STARTING, STARTED or STOPPING. */
    public boolean active() {
        return ACTIVE.contains(this);
    }

    /** Will not change by itself any more (an events stream ends). */
    public boolean ended() {
        return this != QUEUED && !active();
    }

    /** A queued job leaves the queue; a running one is asked to stop at its next commit. */
    public boolean stoppable() {
        return this == QUEUED || active();
    }

    /** STOPPED or FAILED: it goes to the end of the queue and continues where it stopped. */
    public boolean restartable() {
        return this == STOPPED || this == FAILED;
    }

    /** Queued, stopped, failed or unknown: it becomes ABANDONED and never runs again. */
    public boolean abandonable() {
        return this == QUEUED || restartable() || this == UNKNOWN;
    }

    /** What a caller may do to a job of this status now: nothing without role OPERATOR. */
    public List<String> actions(boolean operator) {
        if (!operator) {
            return List.of();
        }
        List<String> actions = new ArrayList<>(3);
        if (stoppable()) {
            actions.add(STOP);
        }
        if (restartable()) {
            actions.add(RESTART);
        }
        if (abandonable()) {
            actions.add(ABANDON);
        }
        return List.copyOf(actions);
    }

    /**
     * The status of this name (a stored one, or Spring Batch's); UNKNOWN for one this version does not
     * know; null for null (a job that never ran has no execution status).
     */
    static JobStatus of(String name) {
        if (name == null) {
            return null;
        }
        try {
            return valueOf(name);
        } catch (IllegalArgumentException e) {
            return UNKNOWN;
        }
    }

    /** The status a list filter names, in any case; null if there is none of that name. */
    static JobStatus parse(String text) {
        try {
            return valueOf(text.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** The names, as the table stores them. */
    static List<String> names(Collection<JobStatus> statuses) {
        return statuses.stream().map(Enum::name).toList();
    }
}
