package io.ringbatch.api;

import io.ringbatch.instance.InstanceRegistry;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /api/workers}: the live instances that share the job repository, and what each runs. */
@RestController
@RequestMapping("/api/workers")
@Tag(name = "workers")
public class WorkersController {
    private final InstanceRegistry registry;

    public WorkersController(InstanceRegistry registry) {
        this.registry = registry;
    }

    @Schema(name = "Worker", description = "an instance that runs partitions, as its last heartbeat described it")
    public record WorkerView(
            @Schema(description = "ringbatch.instance-id") String id,
            @Schema(description = "ringbatch.role", allowableValues = {"combined", "worker"}) String role,
            @Schema(description = "ringbatch.workers: partitions it runs at once at most") int threads,
            @Schema(description = "partitions running in it at its last heartbeat") int partitionsRunning,
            @Schema(description = "when this process of it started") Instant started,
            @Schema(description = "its last heartbeat (every ringbatch.cluster.heartbeat); an instance not seen "
                    + "for ringbatch.cluster.loss-timeout is not listed") Instant lastSeen) {
    }

    @GetMapping
    @Operation(operationId = "listWorkers", summary = "The live instances, by id",
            description = "Every instance that shares this job repository and was seen within "
                    + "ringbatch.cluster.loss-timeout: the instance that answers among them. With H2 (one node) "
                    + "that is this instance alone.")
    public List<WorkerView> list() {
        return registry.live().stream()
                .map(i -> new WorkerView(i.id(), i.role().toLowerCase(Locale.ROOT), i.threads(), i.partitionsRunning(),
                        i.started(), i.lastSeen()))
                .toList();
    }
}
