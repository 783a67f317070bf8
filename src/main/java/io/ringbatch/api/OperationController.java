package io.ringbatch.api;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.util.List;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /api/operations}: what jobs can do, and their parameters. */
@RestController
@RequestMapping("/api/operations")
@Tag(name = "operations")
public class OperationController {
    private final JobSpecValidator validator;

    public OperationController(JobSpecValidator validator) {
        this.validator = validator;
    }

    @GetMapping
    @Operation(operationId = "listOperations", summary = "The operations a job can run, by name, with their parameters")
    public List<JobViews.OperationView> list() {
        return validator.operations().values().stream()
                .map(op -> new JobViews.OperationView(op.name(), op.description(),
                        op.split() == null ? null : op.split().name(), op.parameters()))
                .toList();
    }
}
