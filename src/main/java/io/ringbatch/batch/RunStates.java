package io.ringbatch.batch;

import io.ringbatch.instance.RunningPartitions;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.job.JobInstance;
import org.springframework.batch.core.job.parameters.JobParameters;
import org.springframework.batch.core.job.parameters.JobParametersBuilder;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.stereotype.Component;

/** Reads a job's {@link RunState} from the Spring Batch repository. */
@Component
public class RunStates {
    private final JobRepository repository;

    public RunStates(JobRepository repository) {
        this.repository = repository;
    }

    static JobParameters parameters(String jobId) {
        return new JobParametersBuilder().addString(Pipeline.JOB_ID, jobId, true).toJobParameters();
    }

    JobInstance instance(String jobId) {
        return repository.getJobInstance(Pipeline.JOB_NAME, parameters(jobId));
    }

    /** The job's executions, newest first. */
    List<JobExecution> executions(String jobId) {
        JobInstance instance = instance(jobId);
        if (instance == null) {
            return List.of();
        }
        List<JobExecution> list = new ArrayList<>(repository.getJobExecutions(instance));
        list.sort(Comparator.comparingLong(JobExecution::getId).reversed());
        return list;
    }

    JobExecution latest(String jobId) {
        List<JobExecution> list = executions(jobId);
        return list.isEmpty() ? null : list.get(0);
    }

    /**
     * For each step name, its newest execution over all of the job's executions: a partition that lost its
     * instance has several attempts (step executions of the same name) in one job execution, and only the
     * newest one's numbers count (it started from the lost one's last commit: adding both would count twice).
     */
    private Map<String, StepExecution> latestSteps(List<JobExecution> executions) {
        Map<String, StepExecution> steps = new HashMap<>();
        for (JobExecution e : executions) {
            for (StepExecution s : e.getStepExecutions()) {
                StepExecution seen = steps.get(s.getStepName());
                if (seen == null || seen.getId() < s.getId()) {
                    steps.put(s.getStepName(), s);
                }
            }
        }
        return steps;
    }

    List<StepExecution> latestWorkerSteps(String jobId) {
        return latestWorkerSteps(executions(jobId));
    }

    /** As {@link #latestWorkerSteps(String)}, from the job's executions already loaded. */
    List<StepExecution> latestWorkerSteps(List<JobExecution> executions) {
        List<StepExecution> out = new ArrayList<>();
        for (StepExecution s : latestSteps(executions).values()) {
            if (s.getStepName().startsWith("work:")) {
                out.add(s);
            }
        }
        return out;
    }

    public RunState state(String jobId) {
        return state(executions(jobId));
    }

    /**
     * The state of a job from its executions as {@link #executions} gave them (newest first), for a caller
     * that has loaded them already: the repository is then read once, not once per question.
     */
    RunState state(List<JobExecution> executions) {
        if (executions.isEmpty()) {
            return RunState.NONE;
        }
        JobExecution latest = executions.get(0);
        Map<String, StepExecution> steps = latestSteps(executions);
        StepExecution plan = steps.get("plan");
        long filesTotal = 0;
        long bytesTotal = 0;
        if (plan != null && plan.getExecutionContext().containsKey(PlanTasklet.FILES_TOTAL)) {
            filesTotal = plan.getExecutionContext().getLong(PlanTasklet.FILES_TOTAL);
            bytesTotal = plan.getExecutionContext().getLong(PlanTasklet.BYTES_TOTAL);
        }
        // attempts of each partition in each job execution: the step executions of one name in it
        Map<String, Integer> attempts = new HashMap<>();
        for (JobExecution e : executions) {
            for (StepExecution s : e.getStepExecutions()) {
                attempts.merge(e.getId() + ":" + s.getStepName(), 1, Integer::sum);
            }
        }
        List<RunState.Partition> partitions = new ArrayList<>();
        long filesDone = 0;
        long bytesDone = 0;
        long wait = 0;
        long busy = 0;
        for (StepExecution s : steps.values()) {
            if (!s.getStepName().startsWith("work:")) {
                continue;
            }
            var ctx = s.getExecutionContext();
            int index = ctx.containsKey("partition") ? ctx.getInt("partition") : -1;
            long done = ctx.containsKey(PartitionWork.BYTES_DONE) ? ctx.getLong(PartitionWork.BYTES_DONE) : 0;
            long total = ctx.containsKey(PartitionWork.BYTES_TOTAL) ? ctx.getLong(PartitionWork.BYTES_TOTAL) : 0;
            long w = ctx.containsKey(PartitionWork.WAIT) ? ctx.getLong(PartitionWork.WAIT) : 0;
            long b = ctx.containsKey(PartitionWork.BUSY) ? ctx.getLong(PartitionWork.BUSY) : 0;
            int files = ctx.containsKey(PartitionWork.FILES) ? ctx.getInt(PartitionWork.FILES) : 0;
            filesDone += ctx.containsKey(PartitionWork.FILES_DONE) ? ctx.getLong(PartitionWork.FILES_DONE) : 0;
            bytesDone += done;
            wait += w;
            busy += b;
            String worker = ctx.containsKey(RunningPartitions.WORKER) ? ctx.getString(RunningPartitions.WORKER) : null;
            partitions.add(new RunState.Partition(index, s.getStatus().name(), files, total, done, w, b, worker,
                    attempts.getOrDefault(s.getJobExecutionId() + ":" + s.getStepName(), 1)));
        }
        partitions.sort(Comparator.comparingInt(RunState.Partition::index));
        String phase;
        if (isDone(steps.get("finish"))) {
            phase = "done";
        } else if (isDone(steps.get("process"))) {
            phase = "merging";
        } else if (isDone(plan)) {
            phase = "processing";
        } else {
            phase = "planning";
        }
        List<RunState.Execution> history = new ArrayList<>();
        for (JobExecution e : executions) {
            history.add(new RunState.Execution(e.getId(), e.getStatus().name(), instant(e.getStartTime()),
                    instant(e.getEndTime()), e.getExitStatus().getExitCode(), firstMessage(e.getExitStatus()
                    .getExitDescription())));
        }
        String error = null;
        String detail = null;
        if (latest.getStatus() == BatchStatus.FAILED || latest.getStatus() == BatchStatus.ABANDONED) {
            String description = latest.getExitStatus().getExitDescription();
            for (StepExecution s : latest.getStepExecutions()) {
                if (s.getStatus() == BatchStatus.FAILED && s.getStepName().startsWith("work:")) {
                    description = s.getExitStatus().getExitDescription();
                }
            }
            error = rootMessage(description);
            detail = causes(description);
        }
        Instant started = instant(executions.get(executions.size() - 1).getStartTime());
        return new RunState(status(latest), phase, started, instant(latest.getEndTime()), filesTotal,
                latest.getStatus() == BatchStatus.COMPLETED ? filesTotal : Math.min(filesDone, filesTotal), bytesTotal,
                latest.getStatus() == BatchStatus.COMPLETED ? bytesTotal : Math.min(bytesDone, bytesTotal), wait, busy,
                null, partitions, history, error, detail);
    }

    /**
     * The execution's status as a client may act on it: Spring Batch sets STOPPED, FAILED or COMPLETED
     * a moment before the execution's end, and until then it cannot restart; it still counts as stopping
     * or running.
     */
    static String status(JobExecution e) {
        BatchStatus s = e.getStatus();
        if (e.getEndTime() == null && e.getStartTime() != null
                && (s == BatchStatus.STOPPED || s == BatchStatus.FAILED || s == BatchStatus.COMPLETED)) {
            return s == BatchStatus.STOPPED ? BatchStatus.STOPPING.name() : BatchStatus.STARTED.name();
        }
        return s.name();
    }

    private static boolean isDone(StepExecution s) {
        return s != null && s.getStatus() == BatchStatus.COMPLETED;
    }

    private static Instant instant(LocalDateTime t) {
        return t == null ? null : t.atZone(ZoneId.systemDefault()).toInstant();
    }

    /** The message of the first exception in a stack-trace exit description, without its class name. */
    static String firstMessage(String description) {
        if (description == null || description.isBlank()) {
            return null;
        }
        String first = description.lines().findFirst().orElse("").trim();
        return stripClass(first);
    }

    /** The message of the innermost cause in a stack-trace exit description: what actually went wrong. */
    static String rootMessage(String description) {
        if (description == null || description.isBlank()) {
            return null;
        }
        String root = null;
        for (String line : (Iterable<String>) description.lines()::iterator) {
            String l = line.trim();
            if (l.startsWith("Caused by: ")) {
                root = l.substring("Caused by: ".length());
            }
        }
        return root == null ? firstMessage(description) : stripClass(root);
    }

    /** Every "Caused by" message, one a line, without stack frames or class names. */
    static String causes(String description) {
        if (description == null) {
            return null;
        }
        StringBuilder sb = new StringBuilder();
        description.lines().map(String::trim)
                .filter(l -> !l.startsWith("at ") && !l.startsWith("...") && !l.isEmpty())
                .forEach(l -> {
                    String m = stripClass(l.startsWith("Caused by: ") ? l.substring("Caused by: ".length()) : l);
                    if (!m.isEmpty() && sb.indexOf(m) < 0) {
                        sb.append(m).append('\n');
                    }
                });
        return sb.isEmpty() ? null : sb.toString().trim();
    }

    private static String stripClass(String line) {
        int colon = line.indexOf(": ");
        if (colon > 0 && line.substring(0, colon).matches("[\\w.$]+(Exception|Error|Throwable)")) {
            return line.substring(colon + 2).trim();
        }
        if (line.matches("[\\w.$]+(Exception|Error)")) {
            return "";
        }
        return line;
    }
}
