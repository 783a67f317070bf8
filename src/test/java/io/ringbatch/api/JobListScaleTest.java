package io.ringbatch.api;

import static io.ringbatch.api.ApiHttp.json;
import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.TestDirs;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Listing with 10,000 jobs in the table: pages and totals over HTTP, filters by status, and the query
 * plans use the table's indexes (no sort of the whole table per page).
 * <p>
 * Its own context, not {@link io.ringbatch.ServiceTest}'s: it counts every job in the table, and its
 * 10,000 rows would be in every other class's listings.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "ringbatch.security.admin-password=" + ApiHttp.ADMIN_PW})
@DirtiesContext
@Timeout(120)
class JobListScaleTest {
    static final int JOBS = 10_000;
    static final List<String> STATUSES = List.of("COMPLETED", "FAILED", "STOPPED", "ABANDONED");

    @TempDir
    static Path dataDir;

    @DynamicPropertySource
    static void dirs(DynamicPropertyRegistry registry) {
        TestDirs.register(registry, () -> dataDir);
    }

    @LocalServerPort
    int port;

    @Autowired
    JobStore store;

    static List<String> ids = new ArrayList<>();

    private synchronized void fill() {
        if (!ids.isEmpty()) {
            return;
        }
        JobIds generator = new JobIds(null);
        List<Object[]> rows = new ArrayList<>();
        Instant now = Instant.now();
        for (int i = 0; i < JOBS; i++) {
            String id = generator.next();
            ids.add(id);
            Timestamp at = Timestamp.from(now.plusMillis(i));
            rows.add(new Object[] {id, "job " + i, "checksum", STATUSES.get(i % STATUSES.size()), id,
                    "{\"request\": {}, \"definition\": {}}", "/out/" + id, at, at});
        }
        store.jdbc().batchUpdate("INSERT INTO RB_JOB (ID, NAME, OPERATION, STATUS, QUEUE_ORDER, SPEC, OUTPUT_PATH, "
                + "CREATED_AT, UPDATED_AT) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows);
    }

    @Test
    void pagesAndFiltersOverTenThousandJobs() throws Exception {
        fill();
        ApiHttp http = new ApiHttp(port);
        JsonNode first = json(http.get("/api/jobs?size=100"));
        assertThat(first.path("totalItems").asInt()).isEqualTo(JOBS);
        assertThat(first.path("totalPages").asInt()).isEqualTo(100);
        assertThat(first.path("items").size()).isEqualTo(100);
        assertThat(first.path("items").get(0).path("id").asString()).isEqualTo(ids.get(JOBS - 1));
        assertThat(first.path("items").get(0).path("name").asString()).isEqualTo("job " + (JOBS - 1));

        JsonNode last = json(http.get("/api/jobs?size=100&page=99"));
        assertThat(last.path("items").size()).isEqualTo(100);
        assertThat(last.path("items").get(99).path("id").asString()).isEqualTo(ids.get(0));

        JsonNode failed = json(http.get("/api/jobs?status=FAILED&size=7&page=3"));
        assertThat(failed.path("totalItems").asInt()).isEqualTo(JOBS / 4);
        assertThat(failed.path("items").findValuesAsString("status")).hasSize(7).containsOnly("FAILED");
        // FAILED jobs are every 4th from index 1, newest first; page 3 of 7 starts at the 22nd of them
        int newestFailed = JOBS - 3;
        assertThat(failed.path("items").get(0).path("id").asString()).isEqualTo(ids.get(newestFailed - 4 * 21));

        JsonNode two = json(http.get("/api/jobs?status=FAILED,STOPPED&size=1"));
        assertThat(two.path("totalItems").asInt()).isEqualTo(JOBS / 2);
    }

    @Test
    void searchesAndSortsOverTenThousandJobs() throws Exception {
        fill();
        ApiHttp http = new ApiHttp(port);
        // "job 99", "job 990".."job 999", "job 9900".."job 9999": any case
        JsonNode found = json(http.get("/api/jobs?q=JOB%2099&sort=name&order=asc&size=3"));
        assertThat(found.path("totalItems").asInt()).isEqualTo(111);
        assertThat(found.path("items").findValuesAsString("name")).containsExactly("job 99", "job 990", "job 9900");
        JsonNode down = json(http.get("/api/jobs?q=job%2099&sort=name&order=desc&size=2"));
        assertThat(down.path("items").findValuesAsString("name")).containsExactly("job 9999", "job 9998");
        // by id too, and LIKE's wildcards are taken literally
        assertThat(json(http.get("/api/jobs?q=" + ids.get(17).toUpperCase())).path("items").findValuesAsString("id"))
                .containsExactly(ids.get(17));
        assertThat(json(http.get("/api/jobs?q=%25")).path("totalItems").asInt()).isZero();
        assertThat(json(http.get("/api/jobs?q=job_1")).path("totalItems").asInt()).isZero();
        // search and status together, sorted by status then newest first
        JsonNode both = json(http.get("/api/jobs?q=job%20999&status=FAILED,STOPPED&sort=status&order=asc"));
        assertThat(both.path("items").findValuesAsString("status")).isSortedAccordingTo(String::compareTo)
                .containsOnly("FAILED", "STOPPED");
        JsonNode oldest = json(http.get("/api/jobs?order=asc&size=1"));
        assertThat(oldest.path("items").get(0).path("id").asString()).isEqualTo(ids.get(0));
        JsonNode updated = json(http.get("/api/jobs?sort=updated&size=1"));
        assertThat(updated.path("items").get(0).path("id").asString()).isEqualTo(ids.get(JOBS - 1));

        ApiHttp.assertInvalid(http.get("/api/jobs?sort=size"), "sort");
        ApiHttp.assertInvalid(http.get("/api/jobs?order=up"), "order");
        ApiHttp.assertInvalid(http.get("/api/jobs?q=" + "x".repeat(201)), "q");
    }

    @Test
    void theListQueriesUseTheIndexes() {
        fill();
        String one = plan("EXPLAIN SELECT ID FROM RB_JOB WHERE STATUS = 'FAILED' ORDER BY STATUS DESC, ID DESC "
                + "OFFSET 40 ROWS FETCH FIRST 20 ROWS ONLY");
        assertThat(one).contains("RB_JOB_STATUS_ID").contains("index sorted");
        String several = plan("EXPLAIN SELECT ID FROM RB_JOB WHERE STATUS IN ('FAILED', 'STOPPED') ORDER BY ID DESC "
                + "OFFSET 40 ROWS FETCH FIRST 20 ROWS ONLY");
        assertThat(several).contains("RB_JOB_STATUS_ID");
        String count = plan("EXPLAIN SELECT COUNT(*) FROM RB_JOB WHERE STATUS IN ('FAILED', 'STOPPED')");
        assertThat(count).contains("RB_JOB_STATUS_ID");
        String queue = plan("EXPLAIN SELECT ID FROM RB_JOB WHERE STATUS IN ('QUEUED') ORDER BY QUEUE_ORDER "
                + "FETCH FIRST 1 ROWS ONLY");
        assertThat(queue).contains("RB_JOB_STATUS_ID");
        String all = plan("EXPLAIN SELECT ID FROM RB_JOB ORDER BY ID DESC OFFSET 40 ROWS FETCH FIRST 20 ROWS ONLY");
        assertThat(all).contains("index sorted");
    }

    private String plan(String sql) {
        return String.join("\n", store.jdbc().queryForList(sql, String.class));
    }
}
