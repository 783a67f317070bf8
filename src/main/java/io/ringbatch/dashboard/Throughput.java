package io.ringbatch.dashboard;

import io.ringbatch.api.JobStore;
import io.ringbatch.batch.JobRunner;
import io.ringbatch.batch.RunState;
import io.ringbatch.config.RingbatchProperties;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.scheduling.TaskScheduler;
import org.springframework.stereotype.Component;

/**
 * Throughput over time, sampled once a second from what the running jobs have committed.
 * <ul>
 *   <li>For the service: bytes per second over all jobs, and how many workers computed and how many
 *       waited for I/O on average in that second, for the last {@value #HISTORY} seconds (in memory).</li>
 *   <li>Per job: one line per second while it runs, {@code <epoch ms>\t<bytes done>\t<busy ns>\t<wait ns>},
 *       appended to {@code <data-dir>/jobs/<id>/throughput.tsv}, so that a job's chart survives a restart of
 *       the service and covers every execution of the job.</li>
 * </ul>
 * Sampling reads the job repository once per running job per second, which is what the job view does.
 */
@Component
public class Throughput implements SmartLifecycle {
    private static final Logger log = LoggerFactory.getLogger(Throughput.class);
    static final int HISTORY = 600;
    static final int MAX_POINTS = 300;
    static final String FILE = "throughput.tsv";
    private static final List<String> ACTIVE = List.of("STARTING", "STARTED", "STOPPING");
    private static final Pattern JOB_ID = Pattern.compile("[0-9A-Za-z]{1,32}");

    /** One second of the whole service. */
    public record Sample(long t, double bytesPerSecond, double workersBusy, double workersWaiting) {
    }

    /** One point of a job's chart: when, bytes done by then, and the rate since the point before. */
    public record JobPoint(long t, long bytesDone, double bytesPerSecond, double workersBusy, double workersWaiting) {
    }

    private record Seen(long bytes, long busy, long waited) {
    }

    private final JobStore store;
    private final JobRunner runner;
    private final Path jobsDir;
    private final ArrayDeque<Sample> history = new ArrayDeque<>();
    private final Map<String, Seen> seen = new HashMap<>();
    private long lastTick;
    /** What executions that ended since the last tick did after it. */
    private long pendingBytes;
    private long pendingBusy;
    private long pendingWait;
    private final TaskScheduler scheduler;
    private final Clock clock;
    private volatile ScheduledFuture<?> ticks;

    public Throughput(JobStore store, JobRunner runner, RingbatchProperties properties, TaskScheduler scheduler,
                      Clock clock) {
        this.store = store;
        this.runner = runner;
        this.scheduler = scheduler;
        this.clock = clock;
        this.jobsDir = properties.workDir();
        runner.onExecutionEnded(this::ended);
    }

    /** An execution ended: its last committed figures go into the job's file now, not a second later. */
    synchronized void ended(String id) {
        RunState state;
        try {
            state = runner.state(id);
        } catch (RuntimeException e) {
            return;
        }
        Seen after = new Seen(state.bytesDone(), state.busyNanos(), state.waitNanos());
        Seen before = seen.get(id);
        if (before != null) {
            pendingBytes += Math.max(0, after.bytes - before.bytes);
            pendingBusy += Math.max(0, after.busy - before.busy);
            pendingWait += Math.max(0, after.waited - before.waited);
        }
        append(id, clock.millis(), after);
        seen.put(id, after); // the next tick drops it once its status has ended
    }

    /** The last minutes of the service, oldest first. */
    public synchronized List<Sample> history() {
        return new ArrayList<>(history);
    }

    /** The newest {@code n} seconds (fewer at first), oldest first. */
    public synchronized List<Sample> recent(int n) {
        List<Sample> out = new ArrayList<>(Math.min(n, history.size()));
        var newestFirst = history.descendingIterator();
        while (out.size() < n && newestFirst.hasNext()) {
            out.add(0, newestFirst.next());
        }
        return out;
    }

    /** Once a second. */
    synchronized void tick() {
        long now = clock.millis();
        double seconds = lastTick == 0 ? 0 : (now - lastTick) / 1000.0;
        lastTick = now;
        Set<String> ids = new HashSet<>(seen.keySet());
        try {
            for (JobStore.Row row : store.page(new JobStore.Filter(ACTIVE, null), JobStore.Sort.CREATED, true, 0, 1000)) {
                ids.add(row.id());
            }
        } catch (RuntimeException e) {
            log.debug("throughput: could not list running jobs: {}", e.toString());
            return;
        }
        long bytes = pendingBytes;
        long busy = pendingBusy;
        long wait = pendingWait;
        pendingBytes = 0;
        pendingBusy = 0;
        pendingWait = 0;
        for (String id : ids) {
            RunState state;
            try {
                state = runner.state(id);
            } catch (RuntimeException e) {
                seen.remove(id);
                continue;
            }
            Seen before = seen.get(id);
            Seen after = new Seen(state.bytesDone(), state.busyNanos(), state.waitNanos());
            if (before != null) {
                // a restart may start lower (uncommitted work is done again): count only what is new
                bytes += Math.max(0, after.bytes - before.bytes);
                busy += Math.max(0, after.busy - before.busy);
                wait += Math.max(0, after.waited - before.waited);
            }
            boolean active = state.status() != null && ACTIVE.contains(state.status());
            if (before == null || !before.equals(after) || active) {
                append(id, now, after);
            }
            if (active) {
                seen.put(id, after);
            } else {
                seen.remove(id);
            }
        }
        if (seconds > 0) {
            history.addLast(new Sample(now, round(bytes / seconds), round(busy / 1e9 / seconds),
                    round(wait / 1e9 / seconds)));
            while (history.size() > HISTORY) {
                history.removeFirst();
            }
        }
    }

    private void append(String id, long now, Seen s) {
        if (!JOB_ID.matcher(id).matches()) {
            return;
        }
        Path dir = jobsDir.resolve(id);
        try {
            Files.createDirectories(dir);
            try (Writer out = Files.newBufferedWriter(dir.resolve(FILE), StandardCharsets.US_ASCII,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE)) {
                out.write(now + "\t" + s.bytes + "\t" + s.busy + "\t" + s.waited + "\n");
            }
        } catch (IOException e) {
            log.debug("throughput of job {}: {}", id, e.toString());
        }
    }

    /**
     * A job's chart: at most {@value #MAX_POINTS} points over its whole life (samples merged evenly when
     * there are more), each with the rate since the point before. Empty before it first ran.
     */
    public List<JobPoint> job(String id) {
        if (!JOB_ID.matcher(id).matches()) {
            return List.of();
        }
        List<long[]> raw = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(jobsDir.resolve(id).resolve(FILE), StandardCharsets.US_ASCII)) {
            String line;
            while ((line = in.readLine()) != null) {
                String[] f = line.split("\t");
                if (f.length != 4) {
                    continue; // a line cut short by a crash
                }
                try {
                    raw.add(new long[] {Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2]),
                            Long.parseLong(f[3])});
                } catch (NumberFormatException e) {
                    // a line cut short by a crash
                }
            }
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            log.debug("throughput of job {}: {}", id, e.toString());
            return List.of();
        }
        if (raw.isEmpty()) {
            return List.of();
        }
        int step = (raw.size() + MAX_POINTS - 1) / MAX_POINTS;
        List<long[]> kept = new ArrayList<>();
        for (int i = 0; i < raw.size(); i += step) {
            kept.add(raw.get(i));
        }
        if (kept.get(kept.size() - 1) != raw.get(raw.size() - 1)) {
            kept.add(raw.get(raw.size() - 1));
        }
        List<JobPoint> points = new ArrayList<>(kept.size());
        long[] prev = null;
        for (long[] p : kept) {
            double rate = 0;
            double busy = 0;
            double wait = 0;
            if (prev != null && p[0] > prev[0]) {
                double s = (p[0] - prev[0]) / 1000.0;
                // a gap longer than a minute is the service being down or the job stopped: no rate across it
                if (s <= 60) {
                    rate = Math.max(0, p[1] - prev[1]) / s;
                    busy = Math.max(0, p[2] - prev[2]) / 1e9 / s;
                    wait = Math.max(0, p[3] - prev[3]) / 1e9 / s;
                }
            }
            points.add(new JobPoint(p[0], p[1], round(rate), round(busy), round(wait)));
            prev = p;
        }
        return points;
    }

    private static double round(double v) {
        return Math.round(v * 1000.0) / 1000.0;
    }

    /**
     * Ticks a second after the start, then a second after each tick ends, on Spring's scheduler (which
     * logs a tick that throws and still runs the next).
     */
    @Override
    public void start() {
        ticks = scheduler.scheduleWithFixedDelay(this::tick, scheduler.getClock().instant().plusSeconds(1),
                Duration.ofSeconds(1));
    }

    @Override
    public void stop() {
        ScheduledFuture<?> t = ticks;
        ticks = null;
        if (t != null) {
            t.cancel(false);
        }
    }

    @Override
    public boolean isRunning() {
        return ticks != null;
    }
}
