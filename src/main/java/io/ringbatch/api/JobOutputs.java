package io.ringbatch.api;

import io.ringbatch.batch.JobFiles;
import io.ringbatch.config.RingbatchProperties;
import io.ringbatch.io.Dir;
import io.ringbatch.io.FileNames;
import io.ringbatch.io.Stat;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;

/**
 * A job's output files: its directory, the listing, and the one file a download names. All of it by
 * descriptor: the output directory is opened beneath {@code ringbatch.output-root} and the file beneath
 * the output directory ({@link Dir}: no symbolic link followed anywhere below the root), so an output
 * directory replaced by a link (to {@code /}, say) lists and serves nothing. Names are byte strings
 * ({@link FileNames}); the API shows each as {@code name} (display) and {@code nameBase64} (exact).
 */
@Service
public class JobOutputs {
    private static final Logger log = LoggerFactory.getLogger(JobOutputs.class);
    /** Files a job's view lists; the output listing has them all (up to {@link #MAX_LIST_FILES}). */
    static final int MAX_VIEW_FILES = 100;
    static final int MAX_LIST_FILES = 100_000;

    private final JobQueries queries;
    private final JobStore store;
    private final Path outputRoot;

    JobOutputs(JobQueries queries, JobStore store, RingbatchProperties properties) {
        this.queries = queries;
        this.store = store;
        this.outputRoot = properties.outputRoot().toAbsolutePath();
    }

    /** The job's output directory, as resolved at submission. */
    public Path outputDir(String id) {
        return Path.of(StoredSpec.of(store, queries.require(id)).definition().outputPath());
    }

    public JobViews.OutputListing output(String id) {
        Path dir = outputDir(id);
        Listing listing = list(outputRoot, dir, MAX_LIST_FILES);
        long bytes = listing.files().stream().mapToLong(JobViews.FileView::size).sum();
        return new JobViews.OutputListing(id, dir.toString(), listing.exists(), listing.files().size(), bytes,
                listing.files());
    }

    /** An output file opened for a download: a raw descriptor the caller closes, its name and size. */
    public record Opened(int fd, String name, long size) {
        /** The last segment of the name, for Content-Disposition and the media type (display form). */
        public String fileName() {
            return FileNames.display(name.substring(name.lastIndexOf('/') + 1));
        }
    }

    /**
     * Opens the output file {@code name} (a byte string relative to the output directory, '/'-separated,
     * as the listing gives it). 400 (on {@code field}) for a name with '.', '..' or empty segments or a
     * NUL; 404 when there is no such regular file, or when the output directory or the name leads through
     * a link.
     */
    public Opened open(String id, String name, String field) {
        Path dir = outputDir(id);
        String relative = name.startsWith("/") ? name.substring(1) : name;
        if (relative.isEmpty()) {
            throw ApiException.invalid(field, "is missing: GET /api/jobs/" + id + "/output lists the files");
        }
        for (String segment : relative.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..") || segment.indexOf('\0') >= 0) {
                throw ApiException.invalid(field, "must be a path inside the job's output directory, "
                        + "without '.', '..' or empty segments");
            }
        }
        String shown = FileNames.inMessage(relative);
        try (Dir root = Dir.open(outputRoot);
             Dir out = root.dir(JobFiles.outputRelative(outputRoot, dir))) {
            // O_NONBLOCK: a FIFO planted in the output opens at once (and is refused below) instead of hanging
            int fd = out.openFd(relative, Dir.O_RDONLY | Dir.O_NONBLOCK, 0);
            Stat stat;
            try {
                stat = Dir.stat(fd, shown);
            } catch (IOException | RuntimeException e) {
                Dir.closeFd(fd);
                throw e;
            }
            if (!stat.isRegular()) {
                Dir.closeFd(fd);
                throw noFile(id, shown, stat.isDirectory() ? " (it is a directory)" : "");
            }
            return new Opened(fd, relative, stat.size());
        } catch (NoSuchFileException e) {
            throw noFile(id, shown, "");
        } catch (IOException e) {
            // a link in the way, a name too long, a component that is not a directory: nothing to download
            log.debug("job {}: no download of {}: {}", id, shown, e.toString());
            throw noFile(id, shown, "");
        }
    }

    private static ApiException noFile(String id, String shown, String why) {
        return ApiException.notFound("job " + id + " has no output file '" + shown + "'" + why);
    }

    record Listing(boolean exists, List<JobViews.FileView> files, boolean truncated) {
    }

    /**
     * The regular files under the output directory {@code dir} (opened beneath {@code outputRoot}; links
     * neither followed nor listed), by name bytes; at most {@code max}. A directory that is missing, or
     * reached only through a link, does not exist here.
     */
    static Listing list(Path outputRoot, Path dir, int max) {
        String relative;
        try {
            relative = JobFiles.outputRelative(outputRoot.toAbsolutePath(), dir);
        } catch (IOException e) {
            return new Listing(false, List.of(), false);
        }
        List<Found> found = new ArrayList<>();
        boolean more;
        try (Dir root = Dir.open(outputRoot.toAbsolutePath()); Dir out = root.dir(relative)) {
            more = walk(out, "", found, max);
        } catch (NoSuchFileException e) {
            return new Listing(false, List.of(), false);
        } catch (IOException e) {
            log.warn("cannot list {}: {}", FileNames.inMessage(dir), e.toString());
            return new Listing(false, List.of(), false);
        }
        found.sort(Comparator.comparing(Found::name, FileNames.ORDER));
        return new Listing(true, found.stream().map(f -> JobViews.FileView.of(f.name(), f.size())).toList(), more);
    }

    private record Found(String name, long size) {
    }

    /** Adds the regular files below {@code dir} (prefix: their path so far); true when it stopped at max. */
    private static boolean walk(Dir dir, String prefix, List<Found> files, int max) throws IOException {
        for (Dir.Entry entry : dir.list()) {
            String name = prefix + entry.name();
            boolean directory = entry.isDirectory();
            boolean regular = entry.isRegular();
            Stat stat = null;
            if (entry.isUnknown() || regular) {
                try {
                    stat = dir.stat(entry.name());
                } catch (NoSuchFileException gone) {
                    continue;
                }
                directory = stat.isDirectory();
                regular = stat.isRegular();
            }
            if (directory) {
                try (Dir sub = dir.dir(entry.name())) {
                    if (walk(sub, name + "/", files, max)) {
                        return true;
                    }
                } catch (IOException e) {
                    // swapped for a link, or removed, since it was listed: left out
                    log.debug("not listed: {}: {}", FileNames.inMessage(name), e.toString());
                }
            } else if (regular) {
                if (files.size() >= max) {
                    return true;
                }
                files.add(new Found(name, stat.size()));
            }
        }
        return false;
    }
}
