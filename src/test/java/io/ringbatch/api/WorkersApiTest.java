package io.ringbatch.api;

import static io.ringbatch.api.ApiHttp.assertProblem;
import static io.ringbatch.api.ApiHttp.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ringbatch.ServiceTest;
import io.ringbatch.TestDirs;
import io.ringbatch.config.RingbatchProperties;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.JsonNode;

/**
 * {@code GET /api/workers} on H2 (one node): this instance, its partitions running while a job runs (and
 * {@code ringbatch.partitions.running} with them), instances whose heartbeat is older than the loss
 * timeout left out; and each partition of a job naming the instance that ran it and its attempts.
 */
@ServiceTest
@Timeout(120)
class WorkersApiTest {
    static Path slow;

    @LocalServerPort
    int port;
    @Autowired
    RingbatchProperties properties;
    @Autowired
    DataSource dataSource;
    ApiHttp http;

    @BeforeAll
    static void files() throws Exception {
        slow = Files.createDirectories(TestDirs.input().resolve("WorkersApiTest"));
        for (int i = 0; i < 30; i++) {
            Files.writeString(slow.resolve(String.format("f%02d.txt", i)), "line " + i + "\n");
        }
    }

    @BeforeEach
    void client() {
        http = new ApiHttp(port);
    }

    private JsonNode self() throws Exception {
        HttpResponse<String> response = http.send(http.request("/api/workers")
                .header("Authorization", ApiHttp.basic("viewer", ApiHttp.VIEWER_PW)).GET());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        List<JsonNode> mine = new ArrayList<>();
        json(response).forEach(w -> {
            if (w.path("id").asString().equals(properties.instanceId())) {
                mine.add(w);
            }
        });
        assertThat(mine).as(response.body()).hasSize(1);
        return mine.get(0);
    }

    @Test
    void listsThisInstanceWithItsRoleThreadsAndHeartbeat() throws Exception {
        JsonNode me = self();
        assertThat(me.path("role").asString()).isEqualTo("combined");
        assertThat(me.path("threads").asInt()).isEqualTo(2);
        Instant seen = Instant.parse(me.path("lastSeen").asString());
        // the heartbeat moves on (every ringbatch.cluster.heartbeat, 1 s)
        await("a newer heartbeat").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                .until(() -> Instant.parse(self().path("lastSeen").asString()).isAfter(seen));
        assertThat(Instant.parse(me.path("started").asString())).isBeforeOrEqualTo(seen);

        assertProblem(http.send(http.request("/api/workers").GET()), 401);
    }

    @Test
    void anInstanceNotSeenForTheLossTimeoutIsNotListedAndAFreshOneIs() throws Exception {
        JdbcTemplate jdbc = new JdbcTemplate(dataSource);
        try {
            jdbc.update("INSERT INTO RB_INSTANCE (ID, ROLE, THREADS, PARTITIONS_RUNNING, STARTED, LAST_SEEN) VALUES"
                    + " ('WorkersApiTest-gone', 'WORKER', 4, 1, CURRENT_TIMESTAMP - INTERVAL '1' HOUR,"
                    + " CURRENT_TIMESTAMP - INTERVAL '31' SECOND)");
            jdbc.update("INSERT INTO RB_INSTANCE (ID, ROLE, THREADS, PARTITIONS_RUNNING, STARTED, LAST_SEEN) VALUES"
                    + " ('WorkersApiTest-live', 'WORKER', 4, 3, CURRENT_TIMESTAMP - INTERVAL '1' HOUR,"
                    + " CURRENT_TIMESTAMP - INTERVAL '5' SECOND)");
            JsonNode list = json(http.get("/api/workers"));
            List<String> ids = new ArrayList<>();
            list.forEach(w -> ids.add(w.path("id").asString()));
            assertThat(ids).contains("WorkersApiTest-live", properties.instanceId()).doesNotContain("WorkersApiTest-gone");
            JsonNode live = list.findParents("id").stream()
                    .filter(w -> w.path("id").asString().equals("WorkersApiTest-live")).findFirst().orElseThrow();
            assertThat(live.path("role").asString()).isEqualTo("worker");
            assertThat(live.path("partitionsRunning").asInt()).isEqualTo(3);
            assertThat(ids).as("sorted by id").isSorted();
        } finally {
            jdbc.update("DELETE FROM RB_INSTANCE WHERE ID LIKE 'WorkersApiTest-%'");
        }
    }

    @Test
    void partitionsRunningHereShowInTheListAndTheMetricAndEachPartitionNamesItsWorker() throws Exception {
        String id = http.submit("{\"operation\": \"test-list\", \"params\": {\"delayMillis\": 100}, "
                + "\"input\": {\"root\": \"" + slow + "\"}}").path("id").asString();
        JsonNode running = http.await(id, j -> j.path("progress").path("filesDone").asLong() >= 1, 60);
        JsonNode partition = running.path("partitions").get(0);
        assertThat(partition.path("worker").asString()).as(running.toPrettyString()).isEqualTo(properties.instanceId());
        assertThat(partition.path("attempts").asInt()).isEqualTo(1);
        await("the heartbeat counts the running partition").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> self().path("partitionsRunning").asInt() >= 1);
        HttpResponse<String> metrics = http.get("/actuator/prometheus");
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).containsPattern("(?m)^ringbatch_partitions_running [1-9]")
                .as("no queue table on H2").containsPattern("(?m)^ringbatch_partitions_queued 0\\.0$");

        JsonNode done = http.awaitEnd(id, 60);
        assertThat(done.path("status").asString()).as(done.toPrettyString()).isEqualTo("COMPLETED");
        done.path("partitions").forEach(p -> {
            assertThat(p.path("worker").asString()).isEqualTo(properties.instanceId());
            assertThat(p.path("attempts").asInt()).isEqualTo(1);
        });
    }
}
