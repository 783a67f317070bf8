package io.ringbatch.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ringbatch.RingbatchApplication;
import io.ringbatch.api.ApiHttp;
import io.ringbatch.api.ListOperation;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.Select;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;

/**
 * The dashboard in a real headless Chromium against the service on a real port: log in through the form,
 * submit from the form and watch the bar reach 100 % without a reload, see the server's message next to a
 * bad field, stop and restart a long job, restart failed jobs in bulk, search and filter, a viewer without
 * actions whose forged POSTs get 403, the 390 px layout, keyboard use (the skip link, the focus on a new
 * view), and a page that carries on by itself across a restart of the service. The action buttons are
 * exactly the job's {@code actions} from the server. Screenshots go to {@code target/screenshots/}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(180)
class DashboardBrowserTest {
    private static final String INSTANCE = "dashboard-test-1";
    private Path dataDir;

    private int port;
    private ConfigurableApplicationContext app;
    private ApiHttp http;
    private Browser admin;
    private Path small;
    private Path slow;

    private ConfigurableApplicationContext start() {
        Map<String, Object> props = new HashMap<>();
        props.put("server.port", Integer.toString(port));
        props.put("ringbatch.data-dir", dataDir.toString());
        props.put("ringbatch.input-roots", dataDir.resolve("input").toString());
        props.put("ringbatch.output-root", dataDir.resolve("output").toString());
        props.put("ringbatch.security.admin-password", ApiHttp.ADMIN_PW);
        props.put("ringbatch.security.viewer-password", ApiHttp.VIEWER_PW);
        props.put("ringbatch.workers", "2");
        props.put("ringbatch.instance-id", INSTANCE);
        props.put("ringbatch.pipeline.commit-interval", "1");
        props.put("spring.lifecycle.timeout-per-shutdown-phase", "5s");
        return new SpringApplicationBuilder(RingbatchApplication.class, ListOperation.Config.class).properties(props).run();
    }

    private String base() {
        return "http://localhost:" + port;
    }

    @BeforeAll
    void up(@TempDir Path dir) throws IOException {
        dataDir = dir;
        small = Files.createDirectories(dataDir.resolve("input/small"));
        for (int i = 0; i < 16; i++) {
            Files.writeString(small.resolve(String.format("s%02d.txt", i)), "small file " + i + "\n");
        }
        slow = Files.createDirectories(dataDir.resolve("input/slow"));
        for (int i = 0; i < 30; i++) {
            Files.writeString(slow.resolve(String.format("f%02d.txt", i)), "line " + i + "\n");
        }
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        app = start();
        http = new ApiHttp(port);
        admin = new Browser(1280, 900);
        admin.login(base(), "admin", ApiHttp.ADMIN_PW);
    }

    @AfterAll
    void down() throws IOException {
        try {
            if (admin != null) {
                admin.close();
            }
        } finally {
            if (app != null) {
                app.close();
            }
        }
    }

    private void go(Browser b, String hash) {
        b.js("location.hash = arguments[0]", hash);
    }

    private String jobStatusOnPage(Browser b) {
        return b.find("job-status").getAttribute("data-status");
    }

    private static final List<String> ACTIONS = List.of("stop", "restart", "abandon");

    /** The job's action buttons on the page, as the names of the actions. */
    private static Set<String> actionsShown(Browser b) {
        Set<String> shown = new TreeSet<>();
        for (String action : ACTIONS) {
            if (b.visible("job-" + action)) {
                shown.add(action);
            }
        }
        return shown;
    }

    /** The job's {@code actions} as the server gives them to the admin (an OPERATOR). */
    private Set<String> actionsOf(String id) {
        Set<String> actions = new TreeSet<>();
        try {
            for (tools.jackson.databind.JsonNode action : http.job(id).path("actions")) {
                actions.add(action.asString());
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        return actions;
    }

    /** The buttons come to show exactly the server's actions for the job, which include {@code expected}. */
    private void assertButtonsAreTheActions(Browser b, String id, String expected) {
        b.await(20, "the buttons of the job's actions", d -> {
            Set<String> actions = actionsOf(id);
            return actions.contains(expected) && actionsShown(b).equals(actions);
        });
    }

    /**
     * Clicks the first element that matches as the page is now: the list shown when a view opens is
     * replaced when the list's reload comes, so an element found a moment before may be gone.
     */
    private static void clickAsItIsNow(Browser b, String css) {
        b.await(10, "to click " + css, d -> {
            try {
                List<WebElement> found = b.all(css);
                if (found.isEmpty()) {
                    return false;
                }
                found.get(0).click();
                return true;
            } catch (org.openqa.selenium.StaleElementReferenceException e) {
                return false;
            }
        });
    }

    private Object focused(Browser b) {
        return b.js("return document.activeElement && document.activeElement.id");
    }

    private boolean confirm(Browser b) {
        b.await(10, "the confirmation dialog", d -> b.find("confirm").isDisplayed());
        b.find("confirm-ok").click();
        b.await(10, "the dialog to close", d -> !b.find("confirm").isDisplayed());
        return true;
    }

    private String submitJob(String name, Path root, int delayMillis) throws Exception {
        return http.submit("{\"name\": \"" + name + "\", \"operation\": \"test-list\", \"params\": {\"delayMillis\": "
                + delayMillis + "}, \"input\": {\"root\": \"" + root + "\"}}").path("id").asString();
    }

    private void fillForm(Browser b, String name, String root, Map<String, String> params) {
        go(b, "#/submit");
        b.await(20, "the form with its operations", d -> b.find("view-submit").isDisplayed()
                && !b.all("#f-operation option[value='" + ListOperation.NAME + "']").isEmpty());
        new Select(b.find("f-operation")).selectByValue(ListOperation.NAME);
        b.await(10, "the operation's parameters", d -> !b.all("#p-delayMillis").isEmpty());
        b.find("f-name").clear();
        b.find("f-name").sendKeys(name);
        for (Map.Entry<String, String> p : params.entrySet()) {
            WebElement input = b.find("p-" + p.getKey());
            input.clear();
            input.sendKeys(p.getValue());
        }
        b.find("f-root").clear();
        b.find("f-root").sendKeys(root);
    }

    @Test
    @Order(1)
    void submitFromTheFormAndWatchTheBarReachOneHundredWithoutAReload() throws Exception {
        admin.js("window.__sameDocument = 'yes'");
        admin.await(10, "the submit button", d -> admin.find("new-job").isDisplayed());
        admin.find("new-job").click();
        fillForm(admin, "from the form", small.toString(), Map.of("delayMillis", "250"));
        admin.screenshot("01-submit-form-1280");
        admin.find("f-submit").click();
        admin.await(20, "the job's page", d -> d.getCurrentUrl().contains("#/jobs/"));
        String id = admin.driver.getCurrentUrl().replaceAll(".*#/jobs/", "");

        // the bar moves on its own: percentages seen along the way, then 100
        java.util.Set<String> seen = new java.util.TreeSet<>();
        admin.await(90, "the job to complete on the page", d -> {
            String percent = admin.find("job-bar").getAttribute("data-percent");
            if (percent != null) {
                seen.add(percent);
            }
            return "COMPLETED".equals(jobStatusOnPage(admin)) && "100".equals(percent);
        });
        assertThat(seen).as("percentages the bar showed").contains("100").hasSizeGreaterThan(1);
        assertThat(admin.js("return window.__sameDocument")).as("no reload").isEqualTo("yes");
        assertThat(http.job(id).path("status").asString()).isEqualTo("COMPLETED");
        assertThat(admin.find("fact-files").getText()).contains("16 of 16");
        List<WebElement> files = admin.all("#job-output a.output-file");
        assertThat(files).extracting(WebElement::getText).contains("files.txt", "nested/dir/count.txt");
        assertThat(files.get(0).getAttribute("href")).contains("/api/jobs/" + id + "/output/");
        assertThat(admin.find("job-spec").getText()).contains("\"from the form\"");
        admin.await(20, "the throughput chart", d -> Integer.parseInt(
                admin.find("job-chart").getAttribute("data-points")) > 0);
        admin.screenshot("02-job-completed-1280");

        assertReadableContrast(admin);
        // the check itself sees pale text
        admin.js("const p = document.createElement('p'); p.id = 'pale'; p.style.color = '#aaa'; p.textContent = 'pale';"
                + "document.getElementById('view-job').append(p)");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> assertReadableContrast(admin))
                .hasMessageContaining("P#pale");
        admin.js("document.getElementById('pale').remove()");

        // a name that is not UTF-8 (Latin-1 "caf\xE9.txt", written by descriptor: a Path cannot carry it) is
        // shown in its display form and links to the download by its bytes, ?path=
        try (io.ringbatch.io.Dir out = io.ringbatch.io.Dir.open(Path.of(http.job(id).path("output").path("path")
                .asString()))) {
            io.ringbatch.io.Dir.closeFd(out.openFd(io.ringbatch.io.FileNames.of(new byte[] {'c', 'a', 'f', (byte) 0xE9,
                    '.', 't', 'x', 't'}), io.ringbatch.io.Dir.O_WRONLY | io.ringbatch.io.Dir.O_CREAT, 0644));
        }
        admin.js("location.hash = '#/'");
        admin.await(20, "the jobs list", d -> !admin.driver.getCurrentUrl().contains("#/jobs/"));
        admin.js("location.hash = '#/jobs/" + id + "'");
        admin.await(20, "the Latin-1 name linked by ?path=", d -> admin.all("#job-output a.output-file").stream()
                .anyMatch(a -> a.getText().equals("caf\\xE9.txt")
                        && a.getAttribute("href").endsWith("/api/jobs/" + id + "/output?path=Y2Fm6S50eHQ")));
        assertThat(admin.js("return window.__sameDocument")).as("no reload").isEqualTo("yes");
        admin.find("back").click();
        admin.await(20, "the job's row at 100 %", d -> admin.all("#job-row-" + id + " .progress[data-percent='100']")
                .size() == 1);
        assertThat(admin.js("return window.__sameDocument")).as("no reload").isEqualTo("yes");
        assertReadableContrast(admin);
        admin.screenshot("03-jobs-1280");
    }

    @Test
    @Order(2)
    void aBadParameterShowsTheServersMessageNextToTheField() throws Exception {
        fillForm(admin, "bad", small.toString(), Map.of("pattern", "(unclosed"));
        admin.find("f-submit").click();
        admin.await(20, "the field's error", d -> admin.find("err-params.pattern").isDisplayed());

        JsonNode problem = ApiHttp.json(http.post("/api/jobs", "{\"operation\": \"test-list\", \"params\": "
                + "{\"pattern\": \"(unclosed\"}, \"input\": {\"root\": \"" + small + "\"}}"));
        String reason = problem.path("errors").get(0).path("reason").asString();
        assertThat(reason).contains("regular expression");
        assertThat(admin.find("err-params.pattern").getText()).contains(reason);
        assertThat(admin.find("p-pattern").getAttribute("aria-invalid")).isEqualTo("true");
        assertThat(admin.driver.getCurrentUrl()).endsWith("#/submit");

        // an input outside the roots: its message by the input field, the earlier one gone
        admin.find("p-pattern").clear();
        admin.find("f-root").clear();
        admin.find("f-root").sendKeys("/etc");
        admin.find("f-submit").click();
        admin.await(20, "the input field's error", d -> admin.find("err-input.root").isDisplayed());
        assertThat(admin.find("err-input.root").getText()).contains("must lie inside one of the input roots");
        assertThat(admin.find("err-params.pattern").isDisplayed()).isFalse();
        assertReadableContrast(admin);
        admin.screenshot("04-form-error-1280");
    }

    @Test
    @Order(3)
    void theWorkersPanelAndThePartitionsNameTheInstanceThatRunsThem() throws Exception {
        go(admin, "#/");
        admin.await(20, "this instance in the Workers panel, idle", d -> admin.all(
                "#workers-table tbody tr[data-instance='" + INSTANCE + "'] td.running").stream()
                .anyMatch(td -> td.getText().equals("0")));
        assertThat(admin.find("workers-empty").isDisplayed()).isFalse();
        String id = submitJob("watched by the workers panel", slow, 300);
        admin.await(30, "a partition running here, counted in the Workers panel", d -> admin.all(
                "#workers-table tbody tr[data-instance='" + INSTANCE + "'] td.running").stream()
                .anyMatch(td -> Integer.parseInt(td.getText()) >= 1));
        assertThat(admin.all("#workers-table tbody tr")).hasSize(1);
        assertReadableContrast(admin);
        admin.screenshot("05a-workers-1280");
        go(admin, "#/jobs/" + id);
        // a partition not started yet shows "–" until an instance takes it
        admin.await(30, "the partitions' worker column", d -> admin.all("#job-partitions tbody td.worker").stream()
                .anyMatch(td -> td.getText().equals(INSTANCE)));
        assertThat(admin.all("#job-partitions tbody td.worker")).extracting(WebElement::getText)
                .allMatch(t -> t.equals(INSTANCE) || t.equals("–"));
        assertThat(http.job(id).path("partitions").get(0).path("worker").asString()).isEqualTo(INSTANCE);
        assertThat(http.post("/api/jobs/" + id + "/stop").statusCode()).isIn(202, 409);
        http.awaitEnd(id, 60);
    }

    @Test
    @Order(3)
    void stopALongJobAndRestartIt() throws Exception {
        String id = submitJob("long one", slow, 300);
        go(admin, "#/jobs/" + id);
        admin.await(30, "the job running with some progress", d -> "STARTED".equals(jobStatusOnPage(admin))
                && Double.parseDouble(admin.find("job-bar").getAttribute("data-percent")) > 0);
        assertButtonsAreTheActions(admin, id, "stop");
        admin.find("job-stop").click();
        confirm(admin);
        admin.await(60, "the job stopped", d -> "STOPPED".equals(jobStatusOnPage(admin)));
        assertThat(admin.find("job-stop").isDisplayed()).isFalse();
        assertThat(admin.find("job-restart").isDisplayed()).isTrue();
        assertButtonsAreTheActions(admin, id, "restart");
        admin.screenshot("05-job-stopped-1280");
        double stoppedAt = http.job(id).path("progress").path("percent").asDouble();
        assertThat(stoppedAt).isLessThan(100);

        admin.find("job-restart").click();
        confirm(admin);
        admin.await(90, "the restarted job completed", d -> "COMPLETED".equals(jobStatusOnPage(admin))
                && "100".equals(admin.find("job-bar").getAttribute("data-percent")));
        admin.await(10, "two executions listed", d -> admin.all("#job-executions tbody tr").size() == 2);
        assertThat(actionsShown(admin)).as("nothing to do to a completed job").isEqualTo(actionsOf(id));
        assertThat(http.job(id).path("executions").size()).isEqualTo(2);
        assertThat(admin.all("#job-partitions tbody tr")).isNotEmpty();
        assertThat(admin.find("job-split-text").getText()).contains("waited for I/O");
    }

    @Test
    @Order(4)
    void failedJobsShowTheirErrorAndRestartInBulk() throws Exception {
        Path flaky = Files.createDirectories(dataDir.resolve("input/flaky"));
        for (int i = 0; i < 12; i++) {
            Files.writeString(flaky.resolve(String.format("g%02d.txt", i)), "flaky " + i + "\n");
        }
        // it fails while the marker is there, and runs once it is gone (taking its files away is not sure to
        // fail it: the engine may have opened them ahead of the reader)
        Path marker = Files.writeString(dataDir.resolve("flaky.fail"), "");
        String id = http.submit("{\"name\": \"flaky one\", \"operation\": \"test-list\", \"params\": {\"failWhile\": \""
                + marker + "\"}, \"input\": {\"root\": \"" + flaky + "\"}}").path("id").asString();
        http.awaitStatus(id, "FAILED", 60);
        Files.delete(marker);

        go(admin, "#/jobs/" + id);
        admin.await(20, "the error block", d -> admin.find("job-error").isDisplayed());
        assertThat(admin.find("job-error-message").getText()).isNotBlank();
        assertThat(admin.find("job-error-detail").isDisplayed()).as("collapsed").isFalse();
        admin.find("job-error").findElement(By.tagName("summary")).click();
        admin.await(5, "the detail", d -> admin.find("job-error-detail").isDisplayed());
        assertReadableContrast(admin);
        admin.screenshot("06-job-failed-1280");

        // "Restart selected" counts the ticked jobs the server lets one restart: the failed one, not a completed one
        go(admin, "#/");
        admin.await(20, "the failed job listed", d -> !admin.all("#job-row-" + id + " .row-select").isEmpty());
        clickAsItIsNow(admin, "#job-row-" + id + " .row-select");
        clickAsItIsNow(admin, "#jobs-body tr[data-status='COMPLETED'] .row-select");
        admin.await(10, "one job to restart", d -> admin.find("bulk-restart-selected").isEnabled()
                && admin.find("bulk-restart-selected").getText().equals("Restart selected (1)"));

        go(admin, "#/?status=FAILED");
        admin.await(20, "the failed job listed", d -> !admin.all("#job-row-" + id).isEmpty());
        // read in an await: the list re-renders as events come, and a row read between two renders is stale
        String actions = admin.await(20, "the row's actions",
                d -> admin.find("job-row-" + id).getAttribute("data-actions"));
        assertThat(actions).contains("restart");
        admin.await(20, "the bulk button", d -> admin.find("bulk-restart-failed").isEnabled());
        admin.find("bulk-restart-failed").click();
        confirm(admin);
        admin.await(20, "the bulk result", d -> admin.find("toast").isDisplayed()
                && admin.find("toast").getText().contains("Restarted 1 of 1"));
        http.awaitStatus(id, "COMPLETED", 90);
    }

    @Test
    @Order(5)
    void searchFilterAndSort() throws Exception {
        for (String name : List.of("alpha-1", "beta-2", "alpha-3")) {
            http.awaitStatus(submitJob(name, small, 0), "COMPLETED", 60);
        }
        go(admin, "#/");
        admin.await(10, "the list", d -> admin.find("view-home").isDisplayed());
        admin.find("filter-q").sendKeys("ALPHA");
        admin.await(20, "two matching jobs", d -> admin.all("#jobs-body tr").size() == 2);
        new Select(admin.find("sort")).selectByValue("name");
        new Select(admin.find("order")).selectByValue("asc");
        admin.await(20, "sorted by name", d -> names().equals(List.of("alpha-1", "alpha-3")));
        new Select(admin.find("order")).selectByValue("desc");
        admin.await(20, "sorted by name, descending", d -> names().equals(List.of("alpha-3", "alpha-1")));
        assertThat(admin.driver.getCurrentUrl()).contains("q=ALPHA").contains("sort=name");

        admin.find("filter-q").sendKeys(Keys.chord(Keys.CONTROL, "a"), Keys.BACK_SPACE); // as a person clears it
        admin.await(20, "the filter cleared", d -> admin.all("#jobs-body tr").size() > 2);
        admin.find("ov-status").findElement(By.cssSelector("button[data-status='QUEUED']")).click();
        admin.await(20, "no queued jobs", d -> admin.find("jobs-empty").isDisplayed());
        new Select(admin.find("filter-status")).selectByValue("COMPLETED");
        admin.await(20, "completed jobs only", d -> !admin.all("#jobs-body tr").isEmpty() && admin
                .all("#jobs-body tr").stream().allMatch(r -> "COMPLETED".equals(r.getAttribute("data-status"))));
    }

    private List<String> names() {
        return ((List<?>) admin.js("return [...document.querySelectorAll('#jobs-body td.name a')].map(a => a.textContent)"))
                .stream().map(String::valueOf).toList();
    }

    @Test
    @Order(6)
    void theKeyboardReachesTheControlsAndEscapeCancels() throws Exception {
        go(admin, "#/submit");
        admin.await(10, "the form", d -> admin.find("view-submit").isDisplayed());
        go(admin, "#/?status=COMPLETED");
        admin.await(10, "the list", d -> admin.find("view-home").isDisplayed());
        admin.js("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)");
        Actions keys = new Actions(admin.driver);
        String focused = "";
        for (int i = 0; i < 40 && !"new-job".equals(focused); i++) {
            keys.sendKeys(Keys.TAB).perform();
            focused = String.valueOf(admin.js("return document.activeElement && document.activeElement.id"));
        }
        assertThat(focused).as("Tab reaches the submit link").isEqualTo("new-job");
        keys.sendKeys(Keys.ENTER).perform();
        admin.await(10, "the form", d -> admin.find("view-submit").isDisplayed());
        admin.await(10, "the focus on the form's heading", d -> "h-submit".equals(focused(admin)));

        // stop a running job with the keyboard alone: Escape cancels the confirmation, Enter on OK stops it
        String id = submitJob("by keyboard", slow, 300);
        go(admin, "#/jobs/" + id);
        admin.await(30, "the job running", d -> "STARTED".equals(jobStatusOnPage(admin)));
        admin.js("document.getElementById('job-stop').focus()");
        keys.sendKeys(Keys.ENTER).perform();
        admin.await(10, "the dialog", d -> admin.find("confirm").isDisplayed());
        assertThat(admin.js("return document.activeElement.id")).as("focus starts on Cancel").isEqualTo("confirm-cancel");
        keys.sendKeys(Keys.ESCAPE).perform();
        admin.await(10, "the dialog gone", d -> !admin.find("confirm").isDisplayed());
        // Escape cancelled: the job keeps running (a stop would show within a second: the page POSTs at once)
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                .until(() -> "STARTED".equals(http.job(id).path("status").asString()));

        admin.js("document.getElementById('job-stop').focus()");
        keys.sendKeys(Keys.ENTER).perform();
        admin.await(10, "the dialog", d -> admin.find("confirm").isDisplayed());
        keys.keyDown(Keys.SHIFT).sendKeys(Keys.TAB).keyUp(Keys.SHIFT).perform();
        assertThat(admin.js("return document.activeElement.id")).isEqualTo("confirm-ok");
        keys.sendKeys(Keys.ENTER).perform();
        http.awaitStatus(id, "STOPPED", 60);
        admin.await(20, "the page shows it stopped", d -> "STOPPED".equals(jobStatusOnPage(admin)));
    }

    @Test
    @Order(7)
    void aViewerSeesNoActionsAndForgedPostsGet403() throws Exception {
        String id = submitJob("for the viewer", small, 0);
        http.awaitStatus(id, "COMPLETED", 60);
        try (Browser viewer = new Browser(390, 844)) {
            viewer.login(base(), "viewer", ApiHttp.VIEWER_PW);
            viewer.await(20, "the list", d -> !viewer.all("#job-row-" + id).isEmpty());
            assertThat(viewer.find("who").getText()).contains("viewer");
            assertThat(viewer.visible("new-job")).isFalse();
            assertThat(viewer.visible("bulk-restart-failed")).isFalse();
            assertThat(viewer.all(".row-select")).isEmpty();
            assertNoSidewaysScroll(viewer);
            viewer.screenshot("07-viewer-jobs-390");

            // a job the admin may stop, then restart or abandon, watched by both at once: the viewer's page
            // shows no button, the admin's page the admin's actions
            String steered = submitJob("steered, for the viewer", slow, 2000);
            http.awaitStatus(steered, "STARTED", 30);
            go(admin, "#/jobs/" + steered);
            go(viewer, "#/jobs/" + steered);
            assertButtonsAreTheActions(admin, steered, "stop");
            viewer.await(20, "the job running", d -> "STARTED".equals(jobStatusOnPage(viewer)));
            assertThat(actionsShown(viewer)).as("the viewer's buttons, running").isEmpty();
            assertThat(http.post("/api/jobs/" + steered + "/stop").statusCode()).isEqualTo(202);
            viewer.await(60, "the job stopped", d -> "STOPPED".equals(jobStatusOnPage(viewer)));
            assertButtonsAreTheActions(admin, steered, "restart");
            assertThat(actionsShown(viewer)).as("the viewer's buttons, stopped").isEmpty();
            Object viewerActions = viewer.jsAsync("const done = arguments[arguments.length - 1];"
                    + "fetch('api/jobs/' + arguments[0]).then(r => r.json())"
                    + ".then(j => done(j.actions), e => done(String(e)));",
                    steered);
            assertThat(viewerActions).as("the viewer's actions").isEqualTo(List.of());
            assertNoSidewaysScroll(viewer);
            viewer.screenshot("08-viewer-job-390");

            go(viewer, "#/submit");
            viewer.await(10, "sent back to the list", d -> viewer.find("view-home").isDisplayed());

            // forged from the viewer's own page: with the session's CSRF token, and without
            Object withToken = viewer.jsAsync("const done = arguments[arguments.length - 1];"
                    + "fetch('api/me').then(r => r.json()).then(me => fetch('api/jobs/' + arguments[0] + '/restart', "
                    + "{method: 'POST', headers: {[me.csrf.headerName]: me.csrf.token}}))"
                    + ".then(r => done(r.status), e => done(String(e)));", id);
            Object withoutToken = viewer.jsAsync("const done = arguments[arguments.length - 1];"
                    + "fetch('api/jobs', {method: 'POST', headers: {'Content-Type': 'application/json'}, "
                    + "body: JSON.stringify({operation: 'test-list', input: {root: arguments[0]}})})"
                    + ".then(r => done(r.status), e => done(String(e)));", small.toString());
            assertThat(withToken).isEqualTo(403L);
            assertThat(withoutToken).isEqualTo(403L);
            assertThat(http.job(id).path("executions").size()).isEqualTo(1);
        }
    }

    @Test
    @Order(8)
    void theNarrowLayoutFitsAPhone() throws Exception {
        admin.resize(390, 844);
        try {
            if (http.get("/api/jobs").body().contains("\"totalItems\":0")) {
                http.awaitStatus(submitJob("one for the phone", small, 0), "COMPLETED", 60);
            }
            go(admin, "#/");
            admin.await(10, "the list", d -> admin.find("view-home").isDisplayed() && !admin.all("#jobs-body tr").isEmpty());
            // the chart takes the new width 150 ms after the resize
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertNoSidewaysScroll(admin));
            assertThat(admin.find("new-job").isDisplayed()).isTrue();
            admin.screenshot("09-jobs-390");
            String id = admin.all("#jobs-body tr").get(0).getAttribute("data-id");
            go(admin, "#/jobs/" + id);
            admin.await(10, "a job", d -> admin.find("view-job").isDisplayed() && jobStatusOnPage(admin) != null);
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertNoSidewaysScroll(admin));
            admin.screenshot("10-job-390");
            go(admin, "#/submit");
            admin.await(10, "the form", d -> admin.find("view-submit").isDisplayed()
                    && !admin.all("#f-params-body .field, #f-params-body p").isEmpty());
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertNoSidewaysScroll(admin));
            admin.screenshot("10b-submit-390");
        } finally {
            admin.resize(1280, 900);
        }
    }

    /**
     * WCAG's contrast ratio of every visible piece of text against the background it is drawn on: at
     * least 4.5:1 (disabled controls are exempt, as WCAG has it).
     */
    static void assertReadableContrast(Browser b) {
        Object poor = b.js("""
                const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
                const lum = ([r, g, bl]) => {
                  const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
                  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(bl);
                };
                const background = (el) => {
                  for (let e = el; e; e = e.parentElement) {
                    const c = rgb(getComputedStyle(e).backgroundColor);
                    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
                  }
                  return [255, 255, 255];
                };
                const out = [];
                for (const el of document.querySelectorAll('body *')) {
                  if (!el.offsetParent && getComputedStyle(el).position !== 'fixed') continue;
                  if (el.closest('[disabled]') || el.closest('.uplot')) continue;
                  const text = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent.trim()).join('');
                  if (!text) continue;
                  const style = getComputedStyle(el);
                  if (style.visibility === 'hidden' || Number(style.opacity) < 1) continue;
                  const l1 = lum(rgb(style.color)), l2 = lum(background(el));
                  const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
                  if (ratio < 4.5) out.push(el.tagName + '#' + el.id + '.' + el.className + ' "' + text.slice(0, 30)
                      + '" ' + ratio.toFixed(2));
                }
                return out;
                """);
        assertThat((List<?>) poor).as("text below 4.5:1 contrast").isEmpty();
    }

    private static void assertNoSidewaysScroll(Browser b) {
        Object widths = b.js("return [document.documentElement.scrollWidth, window.innerWidth]");
        List<?> w = (List<?>) widths;
        Object wide = b.js("return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
                + " > window.innerWidth + 1).slice(0, 12).map(e => e.tagName + '#' + e.id + '.' + e.className + ' '"
                + " + Math.round(e.getBoundingClientRect().right) + ' ' + getComputedStyle(e).position)");
        assertThat(((Number) w.get(0)).intValue()).as("page width at " + w.get(1) + " px; too wide: " + wide)
                .isLessThanOrEqualTo(((Number) w.get(1)).intValue());
    }

    @Test
    @Order(9)
    void thePageCarriesOnByItselfWhenTheServiceRestarts() throws Exception {
        go(admin, "#/");
        admin.await(10, "live", d -> "live".equals(admin.find("conn").getAttribute("data-state")));
        admin.js("window.__sameDocument = 'still'");
        int completedBefore = http.get("/api/overview").statusCode() == 200
                ? ApiHttp.json(http.get("/api/overview")).path("jobsByStatus").path("COMPLETED").asInt() : -1;

        app.close();
        app = null;
        admin.await(30, "the page to notice", d -> "reconnecting".equals(admin.find("conn").getAttribute("data-state")));
        admin.screenshot("11-reconnecting-1280");
        app = start();
        admin.await(60, "the page live again", d -> "live".equals(admin.find("conn").getAttribute("data-state")));
        assertThat(admin.js("return window.__sameDocument")).as("no reload").isEqualTo("still");
        assertThat(admin.driver.getCurrentUrl()).doesNotContain("/login");

        // the new session's CSRF token is picked up: a submission from the form goes through
        fillForm(admin, "after the restart", small.toString(), Map.of());
        admin.find("f-submit").click();
        admin.await(30, "the new job's page", d -> d.getCurrentUrl().contains("#/jobs/"));
        admin.await(60, "it completed", d -> "COMPLETED".equals(jobStatusOnPage(admin)));
        go(admin, "#/");
        admin.await(20, "the overview counts the new job", d -> admin.find("ov-status")
                .findElement(By.cssSelector("button[data-status='COMPLETED']")).getText()
                .endsWith(" " + (completedBefore + 1)));
        admin.screenshot("12-after-restart-1280");

        // signing out ends the session and the stay-signed-in cookie
        admin.driver.findElement(By.cssSelector("#logout-form button")).click();
        admin.await(20, "the login form", d -> d.getCurrentUrl().endsWith("/login?logout"));
        assertThat(admin.find("login-out").getText()).contains("signed out");
        assertThat(admin.driver.manage().getCookieNamed("ringbatch-remember-me")).isNull();
        admin.driver.get(base() + "/");
        admin.await(20, "the login form again", d -> d.getCurrentUrl().endsWith("/login"));
        admin.login(base(), "admin", ApiHttp.ADMIN_PW);
    }

    @Test
    @Order(10)
    void theFocusMovesToEachNewViewAndTheSkipLinkKeepsTheRoute() throws Exception {
        String id = submitJob("for the focus", small, 0);
        http.awaitStatus(id, "COMPLETED", 60);
        go(admin, "#/");
        admin.await(20, "the job listed", d -> !admin.all("#job-row-" + id).isEmpty());

        // a new view: the focus on its heading, for a screen reader to say where the reader now is
        admin.find("job-row-" + id).findElement(By.cssSelector("td.name a")).click();
        admin.await(10, "the focus on the job's heading", d -> admin.find("view-job").isDisplayed()
                && "job-title".equals(focused(admin)));
        admin.find("back").click();
        admin.await(10, "the focus on the overview's heading", d -> admin.find("view-home").isDisplayed()
                && "h-overview".equals(focused(admin)));
        admin.driver.navigate().back();
        admin.await(10, "back in the browser: the job's heading", d -> admin.find("view-job").isDisplayed()
                && "job-title".equals(focused(admin)));
        go(admin, "#/");
        admin.await(10, "the overview", d -> "h-overview".equals(focused(admin)));

        // a filter is no new view: the focus stays on the chip pressed (the same element, not a new one)
        WebElement chip = admin.find("ov-status").findElement(By.cssSelector("button[data-status='COMPLETED']"));
        chip.click();
        admin.await(10, "the chip pressed", d -> "true".equals(chip.getAttribute("aria-pressed")));
        assertThat(admin.js("return document.activeElement.dataset.status")).isEqualTo("COMPLETED");
        chip.click();
        admin.await(10, "the chip released", d -> "false".equals(chip.getAttribute("aria-pressed")));

        // the skip link, off the default route: the focus to main, the route as it was
        Map<String, String> routes = Map.of("#/jobs/" + id, "view-job", "#/submit", "view-submit");
        for (Map.Entry<String, String> route : routes.entrySet()) {
            String view = route.getValue();
            go(admin, route.getKey());
            admin.await(10, view, d -> admin.find(view).isDisplayed());
            String url = admin.driver.getCurrentUrl();
            admin.js("document.querySelector('a.skip').focus()");
            new Actions(admin.driver).sendKeys(Keys.ENTER).perform();
            admin.await(10, "the focus on main", d -> "main".equals(focused(admin)));
            assertThat(admin.driver.getCurrentUrl()).as("the route after the skip link").isEqualTo(url);
            assertThat(admin.find(view).isDisplayed()).as(view + " still shown").isTrue();
        }

        // nothing inline for a strict Content-Security-Policy to block: no handler attributes, no inline script
        go(admin, "#/");
        admin.await(20, "the rows", d -> !admin.all("#jobs-body tr").isEmpty());
        Object inline = admin.js("return [...document.querySelectorAll('*')].flatMap(e => [...e.attributes]"
                + ".filter(a => a.name.startsWith('on')).map(a => e.tagName + '#' + e.id + ' ' + a.name))"
                + ".concat([...document.scripts].filter(s => !s.src).map(s => 'an inline script'))");
        assertThat((List<?>) inline).as("inline handlers and scripts").isEmpty();
        assertThat(admin.all("script[type='module']")).hasSize(1);
    }
}
