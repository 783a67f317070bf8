package io.ringbatch.cluster;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import javax.sql.DataSource;
import org.springframework.batch.integration.partition.StepExecutionRequest;
import org.springframework.integration.IntegrationMessageHeaderAccessor;
import org.springframework.integration.support.MutableMessage;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.messaging.Message;
import org.springframework.messaging.MessageChannel;
import org.springframework.messaging.MessageHeaders;

/**
 * Sending partition requests and looking at the queue table. Each request's message id is made from its
 * step execution id, so the manager (also a restarted one) can tell whether an attempt still waits in
 * the queue, and take it back out, without keeping anything in memory.
 */
public class PartitionQueue {
    /** Spring Integration's region for ringbatch's rows in INT_CHANNEL_MESSAGE. */
    public static final String REGION = "ringbatch";
    /** The message group (the channel) of partition requests. */
    public static final String GROUP = "partition-requests";
    /** The channel Spring Integration's subscriber LISTENs on (the trigger of V4 NOTIFYs it). */
    static final String NOTIFY_CHANNEL = "int_channel_message_notify";

    /**
     * What the subscriber is told when one of a job execution's partition attempts has ended: a payload as the
     * trigger's ({@code REGION || ' ' || GROUP_KEY}) for a group of that execution's own, which only its
     * manager subscribes to ({@link DistributedPartitionHandler}).
     */
    static String endedPayload(long jobExecutionId) {
        return REGION + " " + org.springframework.integration.util.UUIDConverter.getUUID(endedGroup(jobExecutionId));
    }

    /** The group a manager subscribes to for the ends of its job execution's partitions. */
    static String endedGroup(long jobExecutionId) {
        return "partition-ended-" + jobExecutionId;
    }
    /** A request's header: the id of its attempt's job execution. */
    static final String JOB_EXECUTION = "ringbatch_jobExecutionId";
    /** The step whose attempts the requests run. */
    public static final String WORKER_STEP = "work";
    /** A re-dispatched attempt goes before every first attempt. */
    public static final int TOP_PRIORITY = Integer.MAX_VALUE;

    private final MessageChannel channel;
    private final JdbcTemplate jdbc;

    public PartitionQueue(MessageChannel channel, DataSource dataSource) {
        this.channel = channel;
        this.jdbc = new JdbcTemplate(dataSource);
    }

    /** The message id of the request for a step execution. */
    static UUID messageId(long stepExecutionId) {
        return new UUID(0x5242_5041_5254_0000L, stepExecutionId); // "RBPART"
    }

    /** Queues the request for one attempt (in the caller's transaction, if it has one). */
    public void send(long stepExecutionId, int priority) {
        send(stepExecutionId, null, priority);
    }

    /**
     * Queues the request for one attempt of a job execution (in the caller's transaction, if it has one); the
     * job execution's id travels in a header ({@value #JOB_EXECUTION}), so that the instance that takes it
     * can lease it without a look at the repository first.
     */
    public void send(long stepExecutionId, Long jobExecutionId, int priority) {
        Map<String, Object> headers = new HashMap<>();
        headers.put(MessageHeaders.ID, messageId(stepExecutionId));
        headers.put(IntegrationMessageHeaderAccessor.PRIORITY, priority);
        if (jobExecutionId != null) {
            headers.put(JOB_EXECUTION, jobExecutionId);
        }
        channel.send(new MutableMessage<>(new StepExecutionRequest(WORKER_STEP, stepExecutionId), headers));
    }

    /** The job execution of a request's attempt, when its sender put it in ({@link #send(long, Long, int)}). */
    static Long jobExecutionId(Message<?> message) {
        return message.getHeaders().get(JOB_EXECUTION) instanceof Long id ? id : null;
    }

    /** Puts a request back as it was (an instance that is shutting down took it). */
    public void requeue(Message<?> message) {
        channel.send(message);
    }

    /** Of these step executions, those whose request still waits in the queue. */
    public Set<Long> queued(List<Long> stepExecutionIds) {
        Set<Long> out = new HashSet<>();
        if (stepExecutionIds.isEmpty()) {
            return out;
        }
        Map<String, Long> byMessage = new HashMap<>();
        for (long id : stepExecutionIds) {
            byMessage.put(messageId(id).toString(), id);
        }
        jdbc.query(con -> {
            var ps = con.prepareStatement("SELECT MESSAGE_ID FROM INT_CHANNEL_MESSAGE WHERE REGION = ? AND MESSAGE_ID = ANY(?)");
            ps.setString(1, REGION);
            ps.setArray(2, con.createArrayOf("bpchar", byMessage.keySet().toArray()));
            return ps;
        }, rs -> {
            Long id = byMessage.get(rs.getString(1).strip());
            if (id != null) {
                out.add(id);
            }
        });
        return out;
    }

    /** Takes an attempt's request out of the queue; true if it was still there (so nobody runs it). */
    public boolean withdraw(long stepExecutionId) {
        return jdbc.update("DELETE FROM INT_CHANNEL_MESSAGE WHERE REGION = ? AND MESSAGE_ID = ?", REGION,
                messageId(stepExecutionId).toString()) > 0;
    }

    /**
     * Tells a job execution's manager that one of its partition attempts has ended (its end committed): a
     * NOTIFY of {@link #endedPayload} through the channel the manager's subscriber LISTENs on
     * ({@link DistributedPartitionHandler#wakeOnEnds}). It carries nothing: lost, it costs the manager a heartbeat.
     */
    public void partitionEnded(long jobExecutionId) {
        jdbc.queryForList("SELECT pg_notify(?, ?)", NOTIFY_CHANNEL, endedPayload(jobExecutionId));
    }

    /** Requests waiting in the queue (all jobs). */
    public int waiting() {
        Integer n = jdbc.queryForObject("SELECT count(*) FROM INT_CHANNEL_MESSAGE WHERE REGION = ?", Integer.class, REGION);
        return n == null ? 0 : n;
    }
}
