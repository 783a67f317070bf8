import com.zaxxer.hikari.HikariDataSource;
import io.ringbatch.operation.ChecksumOperation;
import io.ringbatch.operation.FragmentSink;
import io.ringbatch.operation.GrepOperation;
import io.ringbatch.operation.GzipOperation;
import io.ringbatch.operation.Operation;
import io.ringbatch.operation.PieceProcessor;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.ExitStatus;
import org.springframework.batch.core.configuration.annotation.EnableBatchProcessing;
import org.springframework.batch.core.configuration.annotation.EnableJdbcJobRepository;
import org.springframework.batch.core.configuration.annotation.StepScope;
import org.springframework.batch.core.job.Job;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.job.builder.JobBuilder;
import org.springframework.batch.core.job.parameters.JobParameters;
import org.springframework.batch.core.job.parameters.JobParametersBuilder;
import org.springframework.batch.core.launch.JobOperator;
import org.springframework.batch.core.listener.StepExecutionListener;
import org.springframework.batch.core.partition.support.MultiResourcePartitioner;
import org.springframework.batch.core.partition.support.TaskExecutorPartitionHandler;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.step.Step;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.batch.core.step.builder.StepBuilder;
import org.springframework.batch.infrastructure.item.ItemProcessor;
import org.springframework.batch.infrastructure.item.ItemWriter;
import org.springframework.batch.infrastructure.item.file.BufferedReaderFactory;
import org.springframework.batch.infrastructure.item.file.FlatFileItemReader;
import org.springframework.batch.infrastructure.item.file.mapping.PassThroughLineMapper;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.io.ClassPathResource;
import org.springframework.core.io.FileSystemResource;
import org.springframework.core.io.Resource;
import org.springframework.jdbc.datasource.init.DataSourceInitializer;
import org.springframework.jdbc.datasource.init.ResourceDatabasePopulator;
import org.springframework.jdbc.support.JdbcTransactionManager;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;

/**
 * The "stock Spring Batch job" peer of the benchmark: the same operations, run the way a user of plain
 * Spring Batch 6 (no ringbatch, no Boot auto-configuration) would write a bulk file job.
 * <ul>
 * <li>One job, one partitioned step: a {@link MultiResourcePartitioner} makes one partition per file; a
 * {@link TaskExecutorPartitionHandler} runs them on a {@link ThreadPoolTaskExecutor} of {@code threads}
 * threads (grid size = number of files).</li>
 * <li>Worker step: chunk-oriented (Batch 6's {@code chunk(1000).transactionManager(...)}, i.e. the new
 * {@code ChunkOrientedStep}), 1000 lines a chunk. Reader: a step-scoped {@link FlatFileItemReader} of
 * {@code String} with a {@link PassThroughLineMapper}, ISO-8859-1, no comment prefixes, and a
 * {@link BufferedReaderFactory} whose {@code readLine()} keeps the {@code \n} (and any {@code \r}), so the
 * items are exactly the file's bytes. Processor: line to {@code byte[]}. Writer: the chunk's bytes in one
 * buffer, handed to the file's {@link PieceProcessor} once per chunk.</li>
 * <li>The fragments the operation emits go to a per-partition file {@code part-<file index>} under the
 * work dir (records and outputs appended to the same file, in order); a step-scoped
 * {@link StepExecutionListener} opens the processor and the file in {@code beforeStep} and calls
 * {@code finish} then closes the file in {@code afterStep}.</li>
 * <li>Job repository: JDBC on an H2 file database {@code <workDir>/batch}, deleted and re-created (schema
 * from spring-batch-core's {@code schema-h2.sql}) on each run; HikariCP pool; the steps use the same
 * {@link JdbcTransactionManager}. Launched with {@link JobOperator#start(Job, JobParameters)}, which is
 * synchronous with {@code @EnableBatchProcessing}'s default operator.</li>
 * </ul>
 */
public final class StockSpringBatch {

    /** seconds: wall time of the job run (from start to COMPLETED, excluding context start-up and schema creation);
        bytes: input bytes the readers passed to the processor; fragments: bytes the operation emitted (records + outputs). */
    public record Result(double seconds, long bytes, long fragments, String status) {}

    private static final int CHUNK_LINES = 1000;
    private static final String FILE_KEY = "fileName"; // MultiResourcePartitioner's default key

    private StockSpringBatch() {
    }

    public static Result run(Operation op, Map<String, String> params, Path root, List<String> relativePaths,
                             int threads, Path workDir) throws Exception {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1: " + threads);
        }
        quietLogging();
        workDir = workDir.toAbsolutePath().normalize();
        Files.createDirectories(workDir);
        cleanWorkDir(workDir);

        Resource[] resources = new Resource[relativePaths.size()];
        Map<String, FileEntry> byUrl = new HashMap<>();
        for (int i = 0; i < relativePaths.size(); i++) {
            String rel = relativePaths.get(i);
            Path abs = root.resolve(rel).toAbsolutePath().normalize();
            FileSystemResource resource = new FileSystemResource(abs);
            resources[i] = resource;
            FileEntry previous = byUrl.put(resource.getURL().toExternalForm(),
                    new FileEntry(i, rel, abs, Files.size(abs)));
            if (previous != null) {
                throw new IllegalArgumentException("file listed twice: " + rel);
            }
        }
        Input input = new Input(op, params, resources, byUrl, threads, workDir, new LongAdder(), new LongAdder(),
                new ConcurrentLinkedQueue<>());

        try (AnnotationConfigApplicationContext context = new AnnotationConfigApplicationContext()) {
            context.registerBean(Input.class, () -> input);
            context.register(BatchConfig.class);
            context.refresh(); // also creates the schema (DataSourceInitializer)

            JobOperator jobOperator = context.getBean(JobOperator.class);
            Job job = context.getBean("stockFileJob", Job.class);
            JobParameters jobParameters = new JobParametersBuilder()
                    .addString("operation", op.name())
                    .addString("root", root.toAbsolutePath().toString())
                    .addLong("run", System.currentTimeMillis())
                    .toJobParameters();

            long start = System.nanoTime();
            JobExecution execution = jobOperator.start(job, jobParameters);
            double seconds = (System.nanoTime() - start) / 1e9;

            String status = execution.getStatus().name();
            Throwable failure = firstFailure(execution, input);
            if (execution.getStatus() == BatchStatus.COMPLETED && failure != null) {
                status = "FAILED (job COMPLETED, but " + message(failure) + ")"; // not expected: see PartFile.afterStep
            } else if (execution.getStatus() != BatchStatus.COMPLETED && failure != null) {
                status = status + ": " + message(failure);
            }
            return new Result(seconds, input.bytes().sum(), input.fragments().sum(), status);
        }
    }

    /** One input file: its index (the piece index and the part file's name), path and size. */
    record FileEntry(int index, String rel, Path abs, long size) {
    }

    /** What one run works on; registered in the context before it starts. */
    record Input(Operation op, Map<String, String> params, Resource[] resources, Map<String, FileEntry> byUrl,
                 int threads, Path workDir, LongAdder bytes, LongAdder fragments, Queue<Throwable> failures) {

        FileEntry file(String url) {
            FileEntry f = byUrl.get(url);
            if (f == null) {
                throw new IllegalStateException("partition for an unknown file: " + url);
            }
            return f;
        }
    }

    @Configuration
    @EnableBatchProcessing
    @EnableJdbcJobRepository
    public static class BatchConfig {

        @Bean(destroyMethod = "close")
        public HikariDataSource dataSource(Input in) {
            HikariDataSource ds = new HikariDataSource();
            ds.setJdbcUrl("jdbc:h2:file:" + in.workDir().resolve("batch") + ";DB_CLOSE_ON_EXIT=FALSE");
            ds.setUsername("sa");
            ds.setPassword("");
            ds.setMaximumPoolSize(Math.max(10, in.threads() + 2));
            ds.setPoolName("stock-spring-batch");
            return ds;
        }

        @Bean
        public JdbcTransactionManager transactionManager(DataSource dataSource) {
            return new JdbcTransactionManager(dataSource);
        }

        /** Creates the Batch tables in the fresh database, at context start. */
        @Bean
        public DataSourceInitializer batchSchema(DataSource dataSource) {
            DataSourceInitializer initializer = new DataSourceInitializer();
            initializer.setDataSource(dataSource);
            initializer.setDatabasePopulator(
                    new ResourceDatabasePopulator(new ClassPathResource("org/springframework/batch/core/schema-h2.sql")));
            return initializer;
        }

        @Bean(destroyMethod = "shutdown")
        public ThreadPoolTaskExecutor partitionExecutor(Input in) {
            ThreadPoolTaskExecutor executor = new ThreadPoolTaskExecutor();
            executor.setCorePoolSize(in.threads());
            executor.setMaxPoolSize(in.threads());
            executor.setThreadNamePrefix("stock-batch-");
            return executor;
        }

        @Bean
        public MultiResourcePartitioner filePartitioner(Input in) {
            MultiResourcePartitioner partitioner = new MultiResourcePartitioner();
            partitioner.setResources(in.resources());
            partitioner.setKeyName(FILE_KEY);
            return partitioner;
        }

        @Bean
        @StepScope
        public FlatFileItemReader<String> fileReader(@Value("#{stepExecutionContext['fileName']}") String fileName,
                                                     Input in) {
            FlatFileItemReader<String> reader = new FlatFileItemReader<>(
                    new FileSystemResource(in.file(fileName).abs()), new PassThroughLineMapper());
            reader.setName("fileReader");
            reader.setEncoding(StandardCharsets.ISO_8859_1.name());
            reader.setComments(new String[0]); // no "#" comments: every line is data
            reader.setStrict(true);
            reader.setBufferedReaderFactory(new LineWithTerminatorReaderFactory());
            return reader;
        }

        @Bean
        public ItemProcessor<String, byte[]> lineToBytes() {
            return line -> line.getBytes(StandardCharsets.ISO_8859_1);
        }

        /** The file's operation state and part file, one per partition (step execution). */
        @Bean
        @StepScope
        public PartFile partFile(@Value("#{stepExecutionContext['fileName']}") String fileName, Input in) {
            return new PartFile(in, in.file(fileName));
        }

        @Bean
        public ItemWriter<byte[]> chunkWriter(PartFile partFile) {
            return chunk -> {
                int size = 0;
                for (byte[] line : chunk) {
                    size += line.length;
                }
                ByteBuffer buffer = ByteBuffer.allocate(size);
                for (byte[] line : chunk) {
                    buffer.put(line);
                }
                partFile.process(buffer.flip());
            };
        }

        @Bean
        public Step fileWorker(JobRepository jobRepository, JdbcTransactionManager transactionManager,
                               FlatFileItemReader<String> fileReader, ItemProcessor<String, byte[]> lineToBytes,
                               ItemWriter<byte[]> chunkWriter, PartFile partFile) {
            return new StepBuilder("fileWorker", jobRepository)
                    .<String, byte[]>chunk(CHUNK_LINES)
                    .transactionManager(transactionManager)
                    .reader(fileReader)
                    .processor(lineToBytes)
                    .writer(chunkWriter)
                    .listener((StepExecutionListener) partFile)
                    .build();
        }

        @Bean
        public TaskExecutorPartitionHandler partitionHandler(@Qualifier("fileWorker") Step fileWorker,
                                                             ThreadPoolTaskExecutor partitionExecutor, Input in) {
            TaskExecutorPartitionHandler handler = new TaskExecutorPartitionHandler();
            handler.setStep(fileWorker);
            handler.setTaskExecutor(partitionExecutor);
            handler.setGridSize(Math.max(1, in.resources().length));
            return handler;
        }

        @Bean
        public Step fileManager(JobRepository jobRepository, MultiResourcePartitioner filePartitioner,
                                TaskExecutorPartitionHandler partitionHandler) {
            return new StepBuilder("fileManager", jobRepository)
                    .partitioner("fileWorker", filePartitioner)
                    .partitionHandler(partitionHandler)
                    .build();
        }

        @Bean
        public Job stockFileJob(JobRepository jobRepository, @Qualifier("fileManager") Step fileManager) {
            return new JobBuilder("stockFileJob", jobRepository).start(fileManager).build();
        }
    }

    /**
     * One partition's file: the operation's {@link PieceProcessor} and the part file its fragments go to.
     * Opened before the worker step, finished and closed after it.
     */
    public static class PartFile implements StepExecutionListener, FragmentSink {
        private final Input in;
        private final FileEntry file;
        private PieceProcessor processor;
        private FileChannel channel;

        public PartFile(Input in, FileEntry file) {
            this.in = in;
            this.file = file;
        }

        @Override
        public void beforeStep(StepExecution stepExecution) {
            try {
                channel = FileChannel.open(in.workDir().resolve("part-" + file.index()), StandardOpenOption.CREATE,
                        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
                processor = in.op().open(in.params(), new Operation.Piece(file.index(), file.index(), file.rel(),
                        null, 0, file.size(), file.size()), null); // the reader reads it, not the operation
            } catch (IOException e) {
                throw new IllegalStateException("cannot open " + file.rel() + ": " + e.getMessage(), e);
            }
        }

        /** A chunk's bytes, in file order. */
        public void process(ByteBuffer data) throws IOException {
            in.bytes().add(data.remaining());
            processor.process(data, this);
        }

        @Override
        public ExitStatus afterStep(StepExecution stepExecution) {
            try {
                if (stepExecution.getStatus() == BatchStatus.COMPLETED && processor != null) {
                    processor.finish(this);
                }
                if (channel != null) {
                    channel.close();
                }
                return null;
            } catch (Exception e) {
                // Batch only logs an afterStep exception, so fail the step explicitly.
                in.failures().add(e);
                stepExecution.addFailureException(e);
                stepExecution.setStatus(BatchStatus.FAILED);
                return ExitStatus.FAILED.addExitDescription(e);
            } finally {
                if (channel != null && channel.isOpen()) {
                    try {
                        channel.close();
                    } catch (IOException ignored) {
                        // already failing
                    }
                }
            }
        }

        @Override
        public void record(ByteBuffer bytes) throws IOException {
            write(bytes);
        }

        @Override
        public void output(ByteBuffer bytes) throws IOException {
            write(bytes);
        }

        private void write(ByteBuffer bytes) throws IOException {
            in.fragments().add(bytes.remaining());
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
        }
    }

    /** {@link BufferedReader}s whose lines keep their {@code \n}: items carry every byte of the file. */
    public static class LineWithTerminatorReaderFactory implements BufferedReaderFactory {
        @Override
        public BufferedReader create(Resource resource, String encoding) throws IOException {
            return new LineWithTerminatorReader(new InputStreamReader(resource.getInputStream(), encoding));
        }
    }

    /**
     * {@code readLine()} returns the next line with its {@code \n}; {@code \r} is ordinary data; the last line may
     * lack the {@code \n}; null at the end. Only {@code readLine} and {@code close} are meant to be used (that
     * is all {@link FlatFileItemReader} calls).
     */
    static final class LineWithTerminatorReader extends BufferedReader {
        private final Reader source;
        private final char[] buf = new char[8192]; // BufferedReader's default size
        private int pos;
        private int end;

        LineWithTerminatorReader(Reader source) {
            super(source, 1);
            this.source = source;
        }

        @Override
        public String readLine() throws IOException {
            StringBuilder partial = null;
            while (true) {
                if (pos == end) {
                    int n = source.read(buf, 0, buf.length);
                    if (n < 0) {
                        return partial == null ? null : partial.toString();
                    }
                    pos = 0;
                    end = n;
                    continue;
                }
                int start = pos;
                while (pos < end && buf[pos] != '\n') {
                    pos++;
                }
                if (pos < end) {
                    pos++; // keep the '\n'
                    if (partial == null) {
                        return new String(buf, start, pos - start);
                    }
                    return partial.append(buf, start, pos - start).toString();
                }
                if (partial == null) {
                    partial = new StringBuilder(Math.max(256, 2 * (end - start)));
                }
                partial.append(buf, start, end - start);
            }
        }
    }

    /**
     * The first failure of a worker step (the partition step's own only says "Partition handler returned an
     * unsuccessful step"), else the job's first, else one recorded by {@link PartFile#afterStep}.
     */
    private static Throwable firstFailure(JobExecution execution, Input input) {
        for (StepExecution step : execution.getStepExecutions()) {
            if (step.getStepName().startsWith("fileWorker") && !step.getFailureExceptions().isEmpty()) {
                return step.getFailureExceptions().get(0);
            }
        }
        List<Throwable> all = execution.getAllFailureExceptions();
        return all.isEmpty() ? input.failures().peek() : all.get(0);
    }

    /** The exception's message, with its root cause's if that says more ("Failed to initialize the reader"). */
    private static String message(Throwable t) {
        String m = t.getMessage() == null ? t.getClass().getName() : t.getMessage();
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root != t) {
            m += " (" + (root.getMessage() == null ? root.getClass().getName() : root.getMessage()) + ")";
        }
        return m;
    }

    /** Removes the previous run's database and part files. */
    private static void cleanWorkDir(Path workDir) throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(workDir)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                if ((name.startsWith("batch.") && name.endsWith(".db")) || name.startsWith("part-")) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    /**
     * Without Boot nothing configures logback, whose default is DEBUG on the console: Spring, Batch, Hikari and
     * H2 would log every chunk. A stock application runs them at INFO or WARN.
     */
    private static void quietLogging() {
        for (String name : List.of("org.springframework", "com.zaxxer.hikari", "org.h2")) {
            if (org.slf4j.LoggerFactory.getLogger(name) instanceof ch.qos.logback.classic.Logger logger) {
                logger.setLevel(ch.qos.logback.classic.Level.WARN);
            }
        }
    }

    /** Self-test: {@code java StockSpringBatch <root> <checksum|grep|gzip> <threads> [workDir]}. */
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: StockSpringBatch <root> <checksum|grep|gzip> <threads> [workDir]");
            System.exit(2);
        }
        Path root = Path.of(args[0]).toAbsolutePath().normalize();
        String opName = args[1];
        int threads = Integer.parseInt(args[2]);
        Path workDir = Path.of(args.length > 3 ? args[3] : "/tmp/stock-spring-batch-" + opName);
        Operation op;
        Map<String, String> params;
        switch (opName) {
            case "checksum" -> {
                op = new ChecksumOperation();
                params = op.validate(Map.of("algorithm", "sha256"));
            }
            case "grep" -> {
                op = new GrepOperation();
                params = op.validate(Map.of("pattern", "[0-9]{3}x[a-c]"));
            }
            case "gzip" -> {
                op = new GzipOperation();
                params = op.validate(Map.of("level", 6));
            }
            default -> throw new IllegalArgumentException("unknown operation " + opName);
        }
        List<String> rel = new ArrayList<>();
        long total = 0;
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : (Iterable<Path>) walk.filter(Files::isRegularFile).sorted()::iterator) {
                rel.add(root.relativize(p).toString().replace('\\', '/'));
                total += Files.size(p);
            }
        }
        rel.sort(null);
        Result r = run(op, params, root, rel, threads, workDir);
        System.out.printf(Locale.ROOT, "%s on %d files, %d bytes, %d threads: %s%n", opName, rel.size(), total,
                threads, r);
        System.out.printf(Locale.ROOT, "%.1f MiB/s; bytes %s the files' total; part files under %s%n",
                total / 1048576.0 / r.seconds(), r.bytes() == total ? "equal" : "DIFFER FROM", workDir);
    }
}
