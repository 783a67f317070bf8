import io.ringbatch.batch.JobFiles;
import io.ringbatch.batch.Plan;
import io.ringbatch.batch.PlanFile;
import io.ringbatch.batch.Planner;
import io.ringbatch.operation.Operation;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The plan step alone on a tree of many files (bench/run-small.sh), in a JVM of its own so that its peak
 * resident memory is the plan's: the walk by descriptor, the sort, plan.json written as a stream and read
 * back, as the plan step and the first partition do.
 *
 * <pre>
 * java -cp ... PlanBench generate ROOT N     # N empty files in 1,000 folders (d0..d999/fN), once
 * java -Xmx512m -cp ... PlanBench plan ROOT WORK
 * </pre>
 */
public class PlanBench {
    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[1]).toAbsolutePath();
        if (args[0].equals("generate")) {
            int n = Integer.parseInt(args[2]);
            Path manifest = root.resolveSibling(root.getFileName() + ".manifest");
            String expected = "PlanBench v1 " + n + "\n";
            if (Files.exists(manifest) && Files.readString(manifest).equals(expected)) {
                System.out.println("reusing " + root);
                return;
            }
            long t0 = System.nanoTime();
            int folders = Math.max(1, Math.min(1000, n / 100));
            for (int d = 0; d < folders; d++) {
                Files.createDirectories(root.resolve("d" + d));
            }
            for (int i = 0; i < n; i++) {
                Path f = root.resolve("d" + (i % folders)).resolve("f" + i);
                if (!Files.exists(f)) {
                    Files.createFile(f);
                }
            }
            Files.writeString(manifest, expected);
            System.out.printf(Locale.ROOT, "generated %d empty files in %d folders in %.0f s%n", n, folders,
                    (System.nanoTime() - t0) / 1e9);
            return;
        }
        Path work = Path.of(args[2]).toAbsolutePath();
        long t0 = System.nanoTime();
        Plan plan = new Planner(64L << 20, Runtime.getRuntime().availableProcessors())
                .plan(root, List.of(), List.of(), Operation.Split.WHOLE);
        long t1 = System.nanoTime();
        JobFiles files = new JobFiles(work, "plan-bench");
        PlanFile.write(files, plan);
        long t2 = System.nanoTime();
        int n = plan.files().size();
        plan = null;
        Plan back = PlanFile.read(files);
        long t3 = System.nanoTime();
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        long hwm = -1;
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("VmHWM:")) {
                hwm = Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        System.out.printf(Locale.ROOT, "files=%d partitions=%d walk+sort=%.2f write=%.2f read=%.2f total=%.2f "
                        + "planJsonMiB=%.1f peakRssMiB=%d heapUsedMiB=%d maxHeapMiB=%d%n", n, back.partitions().size(),
                (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9, (t3 - t0) / 1e9,
                Files.size(files.plan()) / 1048576.0, hwm >> 10, heap >> 20, Runtime.getRuntime().maxMemory() >> 20);
    }
}
