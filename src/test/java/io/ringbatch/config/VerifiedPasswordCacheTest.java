package io.ringbatch.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.security.crypto.factory.PasswordEncoderFactories;
import org.springframework.security.crypto.password.PasswordEncoder;

class VerifiedPasswordCacheTest {

    /** The real delegating encoder (bcrypt), counting the checks that reach it. */
    static final class Counting implements PasswordEncoder {
        final PasswordEncoder real = PasswordEncoderFactories.createDelegatingPasswordEncoder();
        final AtomicInteger checks = new AtomicInteger();

        @Override
        public String encode(CharSequence raw) {
            return real.encode(raw);
        }

        @Override
        public boolean matches(CharSequence raw, String encoded) {
            checks.incrementAndGet();
            return real.matches(raw, encoded);
        }
    }

    static final class MutableClock extends Clock {
        Instant now = Instant.parse("2026-11-25T00:00:00Z");

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void aVerifiedPasswordIsCheckedOncePerTtlAndWrongOnesEveryTime() {
        Counting bcrypt = new Counting();
        MutableClock clock = new MutableClock();
        VerifiedPasswordCache cache = new VerifiedPasswordCache(bcrypt, Duration.ofMinutes(1), 4, clock);
        String hash = cache.encode("s3cret");
        assertThat(hash).startsWith("{bcrypt}");

        assertThat(cache.matches("s3cret", hash)).isTrue();
        assertThat(cache.matches("s3cret", hash)).isTrue();
        assertThat(cache.matches("s3cret", hash)).isTrue();
        assertThat(bcrypt.checks).hasValue(1);

        for (int i = 0; i < 3; i++) {
            assertThat(cache.matches("s3creT", hash)).isFalse();
            assertThat(cache.matches("", hash)).isFalse();
        }
        assertThat(bcrypt.checks).as("every wrong password pays the full check").hasValue(7);

        clock.now = clock.now.plusSeconds(59);
        assertThat(cache.matches("s3cret", hash)).isTrue();
        assertThat(bcrypt.checks).as("still remembered within the ttl").hasValue(7);
        clock.now = clock.now.plusSeconds(1);
        assertThat(cache.matches("s3cret", hash)).isTrue();
        assertThat(bcrypt.checks).as("checked again once the ttl has passed").hasValue(8);
        assertThat(cache.matches("s3cret", hash)).isTrue();
        assertThat(bcrypt.checks).as("and remembered for another ttl").hasValue(8);
    }

    @Test
    void theRightPasswordForAnotherHashDoesNotMatchAndTheCacheIsBounded() {
        Counting bcrypt = new Counting();
        VerifiedPasswordCache cache = new VerifiedPasswordCache(bcrypt, Duration.ofMinutes(1), 2, new MutableClock());
        String a = cache.encode("alpha");
        String b = cache.encode("beta");
        assertThat(cache.matches("alpha", a)).isTrue();
        assertThat(cache.matches("alpha", b)).as("a cached success is bound to its hash").isFalse();
        assertThat(cache.matches("beta", b)).isTrue();
        String c = cache.encode("gamma");
        assertThat(cache.matches("gamma", c)).isTrue();
        assertThat(cache.size()).isEqualTo(2);

        Map<String, String> pairs = Map.of("alpha", a, "beta", b, "gamma", c);
        List<String> dropped = pairs.keySet().stream().filter(p -> !cache.remembers(p, pairs.get(p))).toList();
        assertThat(dropped).as("one of the three made room").hasSize(1);
        int before = bcrypt.checks.get();
        for (String p : pairs.keySet()) {
            if (!dropped.contains(p)) {
                assertThat(cache.matches(p, pairs.get(p))).isTrue();
            }
        }
        assertThat(bcrypt.checks.get()).as("the two it holds cost nothing").isEqualTo(before);
        assertThat(cache.matches(dropped.get(0), pairs.get(dropped.get(0)))).isTrue();
        assertThat(bcrypt.checks.get()).as("the dropped one pays the full check again").isEqualTo(before + 1);
        assertThat(cache.size()).isEqualTo(2);
    }

    @Test
    void manyClientsStayWithinTheBound() {
        Counting bcrypt = new Counting();
        VerifiedPasswordCache cache = new VerifiedPasswordCache(bcrypt, Duration.ofMinutes(1), 3, new MutableClock());
        for (int i = 0; i < 12; i++) {
            String password = "client-" + i;
            assertThat(cache.matches(password, cache.encode(password))).isTrue();
            assertThat(cache.size()).isLessThanOrEqualTo(3);
        }
        assertThat(bcrypt.checks).hasValue(12);
    }
}
