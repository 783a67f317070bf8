package io.ringbatch.api;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.SmartLifecycle;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.scheduling.TaskScheduler;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;
import tools.jackson.databind.json.JsonMapper;

/**
 * The server-sent event streams of {@code GET /api/jobs/{id}/events} (and of the dashboard's overview,
 * {@code GET /api/overview/events}, through {@link #subscribe(Topic, String)}). Each stream gets, as event
 * {@code job}, the job's view (the body of {@code GET /api/jobs/{id}}) at once and then every second in
 * which it changed; when the job has ended (STOPPED, COMPLETED, FAILED, ABANDONED) it gets the final
 * view as event {@code end} and the stream completes. A comment line every 15 s keeps proxies from
 * closing a quiet stream and finds clients that went away; a stream lasts at most 30 minutes (an
 * EventSource reconnects by itself). At most {@code ringbatch.api.max-event-streams} (default 64)
 * streams are open at once; past that, 503 with Retry-After. One user may hold at most
 * {@code ringbatch.api.max-streams-per-user} (default 8) of them, so that one viewer cannot take them
 * all from everyone else; past that, 429 with Retry-After. A dashboard tab holds one or two.
 */
@Component
public class JobEvents implements SmartLifecycle {
    private static final Logger log = LoggerFactory.getLogger(JobEvents.class);
    static final long TIMEOUT_MILLIS = 30 * 60 * 1000L;
    static final long KEEP_ALIVE_MILLIS = 15_000;

    private static final Duration TICK = Duration.ofSeconds(1);

    private final JobQueries jobs;
    private final JsonMapper json;
    private final int maxStreams;
    private final int maxPerUser;
    private final Map<SseEmitter, Stream> streams = new ConcurrentHashMap<>();
    private final AtomicLong eventIds = new AtomicLong();
    private final TaskScheduler scheduler;
    private final Clock clock;
    private volatile ScheduledFuture<?> ticks;
    private volatile boolean running;

    public JobEvents(JobQueries jobs, JsonMapper json, TaskScheduler scheduler, Clock clock,
                     @Value("${ringbatch.api.max-event-streams:64}") int maxStreams,
                     @Value("${ringbatch.api.max-streams-per-user:8}") int maxPerUser) {
        this.jobs = jobs;
        this.json = json;
        this.scheduler = scheduler;
        this.clock = clock;
        this.maxStreams = maxStreams;
        this.maxPerUser = maxPerUser;
    }

    /**
     * What a stream follows: a job, or anything else with a view that changes (the dashboard's overview).
     * Streams of one topic share one view per tick.
     */
    public interface Topic {
        /** Identifies the topic: streams with equal keys get the same view. */
        String key();

        /** The view now; an {@link ApiException} ends the topic's streams (the job is gone). */
        Object view();

        /** The event's name for this view. */
        String event(Object view);

        /** Whether this view is the last: the stream completes after sending it. */
        boolean ends(Object view);
    }

    private record JobTopic(JobQueries jobs, String jobId, Caller caller) implements Topic {
        @Override
        public String key() {
            return "job:" + jobId + ":" + caller.operator(); // the actions differ by caller
        }

        @Override
        public Object view() {
            return jobs.view(jobId, caller);
        }

        @Override
        public String event(Object view) {
            return ends(view) ? "end" : "job";
        }

        @Override
        public boolean ends(Object view) {
            return ((JobViews.JobView) view).status().ended();
        }
    }

    private static final class Stream {
        final Topic topic;
        final String user;
        volatile String last;
        volatile long lastSentAt;

        Stream(Topic topic, String user, long now) {
            this.topic = topic;
            this.user = user;
            this.lastSentAt = now;
        }
    }

    /** The signed-in user of this request (user names are case-insensitive); "" if none. */
    private static String currentUser() {
        Authentication authentication = SecurityContextHolder.getContext().getAuthentication();
        return authentication == null || authentication.getName() == null ? ""
                : authentication.getName().toLowerCase(Locale.ROOT);
    }

    /** A new stream for the job; 404 if it does not exist, 503 if too many streams are open. */
    public SseEmitter subscribe(String jobId, Caller caller) {
        return subscribe(new JobTopic(jobs, jobId, caller), "poll GET /api/jobs/" + jobId);
    }

    /**
     * A new stream of the topic: its view at once, then every second in which it changed; 503 if too many
     * streams are open ({@code instead} says what to do then).
     */
    public SseEmitter subscribe(Topic topic, String instead) {
        Object first = topic.view();
        if (!running) {
            throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "the service is shutting down", null,
                    Map.of("Retry-After", "10"));
        }
        SseEmitter emitter = new SseEmitter(TIMEOUT_MILLIS);
        Stream stream = new Stream(topic, currentUser(), clock.millis());
        synchronized (streams) {
            if (streams.size() >= maxStreams) {
                throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "too many event streams are open (" + maxStreams
                        + "); close one, or " + instead, null, Map.of("Retry-After", "10"));
            }
            if (open(stream.user) >= maxPerUser) {
                throw new ApiException(HttpStatus.TOO_MANY_REQUESTS, "too many event streams of this user are open ("
                        + maxPerUser + "); close one, or " + instead, null, Map.of("Retry-After", "10"));
            }
            streams.put(emitter, stream);
        }
        emitter.onCompletion(() -> streams.remove(emitter));
        emitter.onTimeout(() -> {
            streams.remove(emitter);
            emitter.complete();
        });
        emitter.onError(e -> streams.remove(emitter));
        send(emitter, stream, first);
        return emitter;
    }

    int open() {
        return streams.size();
    }

    /** The streams the user holds (at most 64 to look at). */
    int open(String user) {
        String folded = user.toLowerCase(Locale.ROOT);
        return (int) streams.values().stream().filter(s -> s.user.equals(folded)).count();
    }

    /** Once a second: one view per topic that has streams; sent where it changed; ended topics close. */
    void tick() {
        try {
            Map<String, List<Map.Entry<SseEmitter, Stream>>> byTopic = new HashMap<>();
            for (Map.Entry<SseEmitter, Stream> e : streams.entrySet()) {
                byTopic.computeIfAbsent(e.getValue().topic.key(), k -> new ArrayList<>()).add(e);
            }
            long now = clock.millis();
            for (List<Map.Entry<SseEmitter, Stream>> topic : byTopic.values()) {
                Object view;
                try {
                    view = topic.get(0).getValue().topic.view();
                } catch (ApiException e) {
                    view = null; // deleted under us: end its streams
                }
                for (Map.Entry<SseEmitter, Stream> e : topic) {
                    if (view == null) {
                        remove(e.getKey());
                        e.getKey().complete();
                    } else {
                        send(e.getKey(), e.getValue(), view);
                        if (streams.containsKey(e.getKey()) && now - e.getValue().lastSentAt >= KEEP_ALIVE_MILLIS) {
                            keepAlive(e.getKey(), e.getValue());
                        }
                    }
                }
            }
        } catch (RuntimeException e) {
            log.error("job events: {}", e.toString(), e);
        }
    }

    private void send(SseEmitter emitter, Stream stream, Object view) {
        String data = json.writeValueAsString(view);
        boolean end = stream.topic.ends(view);
        if (!end && data.equals(stream.last)) {
            return;
        }
        try {
            emitter.send(SseEmitter.event().id(Long.toString(eventIds.incrementAndGet())).name(stream.topic.event(view))
                    .data(data, MediaType.APPLICATION_JSON));
            stream.last = data;
            stream.lastSentAt = clock.millis();
            if (end) {
                remove(emitter);
                emitter.complete();
            }
        } catch (IOException | IllegalStateException e) {
            // the client went away (or the stream already completed): forget it; the container cleans up
            remove(emitter);
        }
    }

    private void keepAlive(SseEmitter emitter, Stream stream) {
        try {
            emitter.send(SseEmitter.event().comment("keep-alive"));
            stream.lastSentAt = clock.millis();
        } catch (IOException | IllegalStateException e) {
            remove(emitter);
        }
    }

    private void remove(SseEmitter emitter) {
        streams.remove(emitter);
    }

    @Override
    public void start() {
        ticks = scheduler.scheduleWithFixedDelay(this::tick, scheduler.getClock().instant().plus(TICK), TICK);
        running = true;
    }

    /** Before the web server's graceful shutdown: open streams would hold it up. */
    @Override
    public void stop() {
        running = false;
        ScheduledFuture<?> t = ticks;
        if (t != null) {
            t.cancel(true);
        }
        for (SseEmitter emitter : new ArrayList<>(streams.keySet())) {
            remove(emitter);
            try {
                emitter.complete();
            } catch (RuntimeException ignored) {
                // already gone
            }
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return Integer.MAX_VALUE;
    }
}
