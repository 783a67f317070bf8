package io.ringbatch.config;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The table {@code RB_LOGIN} (migration V2): per user, the time before which a "stay signed in" cookie no
 * longer counts. A sign-out moves it to now, and so does a start-up with another password than the last
 * one (told by a keyed fingerprint of it): the cookies made before are refused on every instance of the
 * database. Persistent tokens (a row per cookie, changed at every use) would do that too, but the
 * dashboard's parallel requests after a restart would present one token twice and be taken for a theft,
 * signing everyone out.
 */
public class LoginRevocations {
    private static final Logger log = LoggerFactory.getLogger(LoginRevocations.class);

    private final JdbcTemplate jdbc;
    private final Clock clock;

    public LoginRevocations(DataSource dataSource, Clock clock) {
        this.jdbc = new JdbcTemplate(dataSource);
        this.clock = clock;
    }

    /**
     * At start-up: the fingerprint of each user's configured password. A user seen for the first time, or
     * with another fingerprint than the one stored, gets a new time: the cookies made before are refused.
     */
    public void passwords(Map<String, String> fingerprints) {
        for (Map.Entry<String, String> user : fingerprints.entrySet()) {
            long now = clock.millis();
            int changed = jdbc.update("UPDATE RB_LOGIN SET VALID_AFTER = ?, PASSWORD_FINGERPRINT = ? WHERE USER_NAME = ?"
                    + " AND (PASSWORD_FINGERPRINT IS NULL OR PASSWORD_FINGERPRINT <> ?)", now, user.getValue(),
                    user.getKey(), user.getValue());
            if (changed > 0) {
                log.info("the password of user '{}' changed: its earlier \"stay signed in\" logins end", user.getKey());
            } else if (validAfterOrNull(user.getKey()) == null) {
                try {
                    jdbc.update("INSERT INTO RB_LOGIN (USER_NAME, VALID_AFTER, PASSWORD_FINGERPRINT) VALUES (?, ?, ?)",
                            user.getKey(), now, user.getValue());
                } catch (DuplicateKeyException e) {
                    // another instance starting at the same time inserted it: its fingerprint is as good
                }
            }
        }
    }

    /** Refuses the user's cookies made up to now (a sign-out). */
    public void revoke(String user) {
        long now = clock.millis();
        if (jdbc.update("UPDATE RB_LOGIN SET VALID_AFTER = ? WHERE USER_NAME = ? AND VALID_AFTER < ?", now, user, now)
                == 0 && validAfterOrNull(user) == null) {
            try {
                jdbc.update("INSERT INTO RB_LOGIN (USER_NAME, VALID_AFTER) VALUES (?, ?)", user, now);
            } catch (DuplicateKeyException e) {
                revoke(user);
            }
        }
    }

    /** Milliseconds since the epoch: a cookie made at or before it is refused (0: none so far). */
    public long validAfter(String user) {
        Long after = validAfterOrNull(user);
        return after == null ? 0 : after;
    }

    private Long validAfterOrNull(String user) {
        List<Long> rows = jdbc.queryForList("SELECT VALID_AFTER FROM RB_LOGIN WHERE USER_NAME = ?", Long.class, user);
        return rows.isEmpty() ? null : rows.get(0);
    }
}
