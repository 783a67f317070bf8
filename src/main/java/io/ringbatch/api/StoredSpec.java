package io.ringbatch.api;

import io.ringbatch.batch.JobDefinition;
import java.nio.file.Path;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** What the table's SPEC column holds: the request as submitted, and what it resolved to. */
record StoredSpec(JsonNode request, JobViews.Definition definition) {
    /** Independent of the application's Jackson settings, so that what is stored reads back the same. */
    private static final JsonMapper STORED = JsonMapper.builder().build();

    /** A request as the column keeps it (and as an idempotent replay is compared). */
    static JsonNode tree(JobRequest request) {
        return STORED.valueToTree(request);
    }

    /** The row's spec; a row read for a list has none, and is read again with it. */
    static StoredSpec of(JobStore store, JobStore.Row row) {
        String spec = row.spec() != null ? row.spec() : store.find(row.id()).map(JobStore.Row::spec).orElseThrow();
        return STORED.readValue(spec, StoredSpec.class);
    }

    String json() {
        return STORED.writeValueAsString(this);
    }

    /** The request as a JSON object, for the view. */
    @SuppressWarnings("unchecked")
    Map<String, Object> submitted() {
        return STORED.treeToValue(request, Map.class);
    }

    /** What the runner runs for the job {@code id}. */
    JobDefinition job(String id) {
        JobViews.Definition d = definition;
        return new JobDefinition(id, d.operation(), d.params(), Path.of(d.inputRoot()), d.include(), d.exclude(),
                Path.of(d.outputPath()), d.skipUnreadable());
    }
}
