package io.ringbatch.config;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.springframework.security.crypto.password.PasswordEncoder;

/**
 * A {@link PasswordEncoder} that remembers, for a short while, the (password, stored hash) pairs it has
 * already found to match, so that an API client sending HTTP basic credentials on every request pays
 * one bcrypt check per {@code ttl} instead of one per request (about 60 ms of CPU each, taken from the
 * workers). Only successes are remembered: a wrong password always costs the full check, so guessing
 * is no cheaper, and the login throttle still counts it.
 * <p>
 * The cache holds no password and no hash: its keys are an HMAC-SHA-256 of the pair under a random key
 * made at start-up and never stored. At most {@code capacity} entries (Caffeine chooses which go when
 * there are more); each expires {@code ttl} after its check, by the given clock.
 */
public final class VerifiedPasswordCache implements PasswordEncoder {
    private final PasswordEncoder delegate;
    private final SecretKeySpec key;
    private final Cache<String, Boolean> verified;

    public VerifiedPasswordCache(PasswordEncoder delegate, Duration ttl, int capacity, Clock clock) {
        this.delegate = delegate;
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        this.key = new SecretKeySpec(k, "HmacSHA256");
        this.verified = Caffeine.newBuilder()
                .maximumSize(capacity)
                .expireAfterWrite(ttl)
                .ticker(() -> TimeUnit.MILLISECONDS.toNanos(clock.millis()))
                // evictions on the caller's thread: the bound holds when matches returns, not a moment later
                .executor(Runnable::run)
                .build();
    }

    @Override
    public String encode(CharSequence rawPassword) {
        return delegate.encode(rawPassword);
    }

    @Override
    public boolean matches(CharSequence rawPassword, String encodedPassword) {
        if (rawPassword == null || encodedPassword == null) {
            return delegate.matches(rawPassword, encodedPassword);
        }
        String id = fingerprint(rawPassword, encodedPassword);
        if (verified.getIfPresent(id) != null) {
            return true;
        }
        boolean ok = delegate.matches(rawPassword, encodedPassword);
        if (ok) {
            verified.put(id, Boolean.TRUE);
        }
        return ok;
    }

    @Override
    public boolean upgradeEncoding(String encodedPassword) {
        return delegate.upgradeEncoding(encodedPassword);
    }

    /** Entries held now. */
    long size() {
        verified.cleanUp();
        return verified.estimatedSize();
    }

    /** Whether a match of this pair would be answered without the full check. */
    boolean remembers(CharSequence rawPassword, String encodedPassword) {
        return verified.policy().getIfPresentQuietly(fingerprint(rawPassword, encodedPassword)) != null;
    }

    private String fingerprint(CharSequence raw, String encoded) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            mac.update(encoded.getBytes(StandardCharsets.UTF_8));
            mac.update((byte) 0);
            byte[] digest = mac.doFinal(raw.toString().getBytes(StandardCharsets.UTF_8));
            return Base64.getEncoder().encodeToString(digest);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }
}
