package io.ringbatch.batch;

import io.ringbatch.io.Dir;
import io.ringbatch.io.FileNames;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * Opens a job's input root by descriptor, at every start, restart and resume (the plan step and each
 * partition), and refuses it unless the kernel places that descriptor under one of
 * {@code ringbatch.input-roots}. The submission checked the root once; a job stopped while queued can
 * have a directory of its root replaced by a link to {@code /} before it runs again, and only a check
 * of what was actually opened (not of the name) sees that. Everything the job reads is then looked up
 * beneath this descriptor, following no link ({@link Dir}).
 */
public final class InputRoots {
    private final List<Path> configured;

    public InputRoots(List<Path> configured) {
        this.configured = List.copyOf(configured);
    }

    /** The job's root held by descriptor, or an IOException saying where it leads now. */
    public Dir open(Path root) throws IOException {
        Dir dir;
        try {
            dir = Dir.open(root.toAbsolutePath());
        } catch (NoSuchFileException e) {
            throw new IOException("input root " + FileNames.inMessage(root) + " does not exist any more", e);
        } catch (IOException e) {
            throw new IOException("input root " + FileNames.inMessage(root) + " cannot be opened: " + e.getMessage(), e);
        }
        try {
            String now = dir.resolvedPath();
            if (dir.stat().nlink() == 0) {
                // removed since the job was submitted: /proc shows the old path with " (deleted)"
                throw new IOException("input root " + FileNames.inMessage(root) + " does not exist any more");
            }
            for (Path allowed : configured) {
                String real;
                try {
                    real = FileNames.ofPath(allowed.toRealPath());
                } catch (IOException e) {
                    continue; // a configured root that is missing holds nothing
                }
                String prefix = real.endsWith("/") ? real : real + "/";
                if (now.equals(real) || now.startsWith(prefix)) {
                    return dir;
                }
            }
            throw new IOException("input root " + FileNames.inMessage(root) + " now resolves to "
                    + FileNames.inMessage(now) + ", outside ringbatch.input-roots " + inMessage(configured) + "; refused");
        } catch (IOException | RuntimeException e) {
            dir.close();
            throw e;
        }
    }

    /** The configured roots as a list for a message. */
    private static String inMessage(List<Path> roots) {
        return roots.stream().map(FileNames::inMessage).toList().toString();
    }
}
