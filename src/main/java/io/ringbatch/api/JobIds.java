package io.ringbatch.api;

import java.security.SecureRandom;
import java.time.Clock;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/**
 * Short, time-ordered ids: 10 characters of Crockford base32 for the milliseconds since the epoch, then
 * 6 for a counter that starts at a random value each millisecond, lower case (16 characters, e.g.
 * {@code 01jf3k5q9x7c2m4p}). They sort as they were made, also across restarts (the generator starts
 * above the largest id already stored), and two replicas sharing a database are unlikely to collide
 * (the table's primary key would refuse it).
 */
@Component
final class JobIds {
    private static final char[] ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz".toCharArray();
    private static final long COUNTER_MAX = (1L << 30) - 1;

    private final SecureRandom random = new SecureRandom();
    private final Clock clock;
    private long lastMillis;
    private long counter;

    /** Continues after the largest id stored. */
    @Autowired
    JobIds(JobStore store, Clock clock) {
        this(store.maxId().orElse(null), clock);
    }

    /** Continues after {@code floor} (an id made earlier, perhaps by an earlier process), if given. */
    JobIds(String floor) {
        this(floor, Clock.systemUTC());
    }

    JobIds(String floor, Clock clock) {
        this.clock = clock;
        if (floor != null && floor.length() == 16 && valid(floor)) {
            lastMillis = decode(floor, 0, 10);
            counter = decode(floor, 10, 16);
        }
    }

    synchronized String next() {
        long now = clock.millis();
        if (now > lastMillis) {
            lastMillis = now;
            counter = random.nextInt(1 << 29); // leaves room to count up within the millisecond
        } else if (counter < COUNTER_MAX) {
            counter++;
        } else {
            lastMillis++;
            counter = 0;
        }
        return encode(lastMillis, 10) + encode(counter, 6);
    }

    private static String encode(long value, int chars) {
        char[] out = new char[chars];
        for (int i = chars - 1; i >= 0; i--) {
            out[i] = ALPHABET[(int) (value & 31)];
            value >>>= 5;
        }
        return new String(out);
    }

    private static long decode(String s, int from, int to) {
        long v = 0;
        for (int i = from; i < to; i++) {
            v = (v << 5) | indexOf(s.charAt(i));
        }
        return v;
    }

    private static int indexOf(char c) {
        for (int i = 0; i < ALPHABET.length; i++) {
            if (ALPHABET[i] == c) {
                return i;
            }
        }
        return -1;
    }

    private static boolean valid(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (indexOf(s.charAt(i)) < 0) {
                return false;
            }
        }
        return true;
    }
}
