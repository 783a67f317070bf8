package io.ringbatch.container;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.springframework.util.FileSystemUtils;

/**
 * A Java 17 base image made without an image registry, from Debian's packages on the mirror apt already
 * uses: {@code debootstrap --variant=minbase --include=openjdk-17-jre-headless bookworm}, imported with
 * {@code podman import}.
 *
 * <p>It is made once and kept in podman's image store (outside target/, so {@code mvn clean} keeps it), tagged
 * with a hash of everything it is made from: the recipe below, the mirror, and the date of the suite's
 * release as this machine's apt last saw it, so that a changed recipe, another mirror or a Debian point
 * release (a new JRE) makes a new one. Made cold it takes about 40 s (debootstrap 34 s, import 6 s, on CI's
 * machine and mirror); found, a second.
 */
final class DebianBase {
    static final String REPOSITORY = "localhost/ringbatch-it-base";
    static final String SUITE = "bookworm";
    static final String JRE = "openjdk-17-jre-headless";
    /** Left out of the image: apt's downloads and lists, documentation, translations, /tmp (180 of 480 MB). */
    static final List<String> EXCLUDED = List.of("./var/cache/apt/archives", "./var/lib/apt/lists", "./usr/share/doc",
            "./usr/share/man", "./usr/share/locale", "./tmp/*");
    /** Raise it when the recipe changes in a way the key below does not see. */
    static final int RECIPE = 1;
    static final Path WORK = Path.of("/var/tmp");

    private DebianBase() {
    }

    /** The base image's name, made first if it is not in podman's store yet. */
    static String image(Podman podman) throws Exception {
        String mirror = mirror().orElseThrow(() -> new AssertionError("no Debian mirror for " + SUITE
                + " in /etc/apt/sources.list or /etc/apt/sources.list.d: debootstrap needs one"));
        String key = sha256(String.join("\n", "recipe " + RECIPE, SUITE, JRE, mirror, String.join(" ", EXCLUDED),
                release(mirror)));
        String image = REPOSITORY + ":" + key.substring(0, 16);
        // one maker at a time: a second build (another checkout on this machine) waits and then finds it
        try (FileChannel lockFile = FileChannel.open(WORK.resolve("ringbatch-it-base.lock"),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE); FileLock lock = lockFile.lock()) {
            if (podman.podman(Duration.ofMinutes(1), "image", "exists", image).exitCode() == 0) {
                return image;
            }
            make(podman, mirror, image, WORK.resolve("ringbatch-it-base-" + key.substring(0, 16)));
        }
        return image;
    }

    private static void make(Podman podman, String mirror, String image, Path dir) throws Exception {
        assertThat(Podman.which("debootstrap")).as("debootstrap makes ContainerIT's base image (.ci/run installs it)")
                .isPresent();
        FileSystemUtils.deleteRecursively(dir);
        Files.createDirectories(dir);
        try {
            Path rootfs = dir.resolve("rootfs");
            Path tar = dir.resolve("rootfs.tar");
            podman.run(Duration.ofMinutes(20), List.of("debootstrap", "--variant=minbase", "--include=" + JRE, SUITE,
                    rootfs.toString(), mirror)).ok();
            List<String> command = new ArrayList<>(List.of("tar", "-C", rootfs.toString()));
            EXCLUDED.forEach(e -> command.add("--exclude=" + e));
            command.addAll(List.of("-cf", tar.toString(), "."));
            podman.run(Duration.ofMinutes(5), command).ok();
            podman.podman(Duration.ofMinutes(5), "import", tar.toString(), image).ok();
        } finally {
            FileSystemUtils.deleteRecursively(dir);
        }
        // the bases of older keys are stale: gone, unless an image still uses them (then rmi refuses, harmlessly)
        for (String old : podman.podman(Duration.ofMinutes(1), "images", "--format", "{{.Repository}}:{{.Tag}}",
                "--filter", "reference=" + REPOSITORY).ok().out().split("\n")) {
            if (!old.isBlank() && !old.equals(image)) {
                podman.podman(Duration.ofMinutes(1), "rmi", old);
            }
        }
    }

    /**
     * The first {@code deb} source of the suite itself (not -updates or -security) in apt's configuration:
     * deb822 {@code .sources} files or one-line {@code sources.list} entries.
     */
    static Optional<String> mirror() throws IOException {
        List<Path> files = new ArrayList<>();
        Path etc = Path.of("/etc/apt");
        if (Files.isRegularFile(etc.resolve("sources.list"))) {
            files.add(etc.resolve("sources.list"));
        }
        if (Files.isDirectory(etc.resolve("sources.list.d"))) {
            try (Stream<Path> s = Files.list(etc.resolve("sources.list.d"))) {
                s.filter(p -> p.toString().endsWith(".list") || p.toString().endsWith(".sources")).sorted()
                        .forEach(files::add);
            }
        }
        for (Path file : files) {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            Optional<String> found = file.toString().endsWith(".sources") ? deb822(lines) : oneLine(lines);
            if (found.isPresent()) {
                return found;
            }
        }
        return Optional.empty();
    }

    private static Optional<String> oneLine(List<String> lines) {
        for (String line : lines) {
            String l = line.replaceAll("\\[[^]]*]", " ").trim(); // [signed-by=... arch=...]
            String[] f = l.split("\\s+");
            if (f.length >= 3 && f[0].equals("deb") && f[2].equals(SUITE)) {
                return Optional.of(f[1]);
            }
        }
        return Optional.empty();
    }

    private static Optional<String> deb822(List<String> lines) {
        List<String> stanza = new ArrayList<>();
        for (String line : lines) {
            if (line.isBlank()) {
                Optional<String> found = stanza(stanza);
                if (found.isPresent()) {
                    return found;
                }
                stanza.clear();
            } else if (!line.startsWith("#")) {
                stanza.add(line);
            }
        }
        return stanza(stanza);
    }

    private static Optional<String> stanza(List<String> stanza) {
        String types = field(stanza, "Types");
        String uris = field(stanza, "URIs");
        String suites = field(stanza, "Suites");
        if (List.of(types.split("\\s+")).contains("deb") && List.of(suites.split("\\s+")).contains(SUITE)
                && !"no".equalsIgnoreCase(field(stanza, "Enabled")) && !uris.isBlank()) {
            return Optional.of(uris.split("\\s+")[0]);
        }
        return Optional.empty();
    }

    private static String field(List<String> stanza, String name) {
        return stanza.stream().filter(l -> l.regionMatches(true, 0, name + ":", 0, name.length() + 1))
                .map(l -> l.substring(name.length() + 1).trim()).findFirst().orElse("");
    }

    /** The Date line of the suite's InRelease as apt on this machine last fetched it, or "" when apt has none. */
    static String release(String mirror) throws IOException {
        String name = mirror.replaceFirst("^[a-z+]+://", "").replaceAll("/+$", "").replace('/', '_')
                + "_dists_" + SUITE + "_InRelease";
        Path file = Path.of("/var/lib/apt/lists", name);
        if (!Files.isRegularFile(file)) {
            return "";
        }
        try (Stream<String> lines = Files.lines(file, StandardCharsets.ISO_8859_1)) {
            return lines.filter(l -> l.startsWith("Date:")).findFirst().orElse("");
        }
    }

    private static String sha256(String text) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    }
}
