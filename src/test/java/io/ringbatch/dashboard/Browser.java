package io.ringbatch.dashboard;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * A real headless Chromium (Debian's {@code chromium}, driven through {@code chromium-driver}), with a fresh
 * profile. Fails with the packages to install when they are missing: {@code .ci/run} installs them.
 */
final class Browser implements AutoCloseable {
    static final Path CHROMIUM = Path.of(System.getProperty("ringbatch.chromium", "/usr/bin/chromium"));
    static final Path CHROMEDRIVER = Path.of(System.getProperty("ringbatch.chromedriver", "/usr/bin/chromedriver"));
    static final Path SCREENSHOTS = Path.of("target", "screenshots");

    final ChromeDriver driver;
    private final Path profile;

    Browser(int width, int height) throws IOException {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            throw new IllegalStateException("the dashboard's browser tests need Debian's chromium and chromium-driver ("
                    + CHROMIUM + ", " + CHROMEDRIVER + "): apt-get install chromium chromium-driver (.ci/run does)");
        }
        profile = Files.createTempDirectory("ringbatch-chromium");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-extensions", "--password-store=basic", "--lang=en-US",
                "--user-data-dir=" + profile, "--window-size=" + width + "," + height);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        driver = new ChromeDriver(service, options);
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
        resize(width, height);
    }

    private int phoneWidth;
    private int phoneHeight;

    /**
     * The viewport (not the window) of this size, so that CSS media queries see it. Below 600 px wide it is a
     * phone's (device metrics emulated through the DevTools protocol: a desktop window cannot be that narrow).
     */
    void resize(int width, int height) {
        if (width < 600) {
            phoneWidth = width;
            phoneHeight = height;
            emulate(height);
            return;
        }
        if (phoneWidth > 0) {
            driver.executeCdpCommand("Emulation.clearDeviceMetricsOverride", Map.of());
            phoneWidth = 0;
        }
        driver.manage().window().setSize(new Dimension(width, height));
        Object inner = js("return [window.innerWidth, window.innerHeight];");
        if (inner instanceof List<?> list && list.size() == 2) {
            int dw = width - ((Number) list.get(0)).intValue();
            int dh = height - ((Number) list.get(1)).intValue();
            if (dw != 0 || dh != 0) {
                driver.manage().window().setSize(new Dimension(width + dw, height + dh));
            }
        }
    }

    private void emulate(int height) {
        driver.executeCdpCommand("Emulation.setDeviceMetricsOverride", Map.of("width", phoneWidth, "height", height,
                "deviceScaleFactor", 1, "mobile", true));
    }

    Object js(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(script, args);
    }

    /** Runs an async script: the last argument is the callback. */
    Object jsAsync(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeAsyncScript(script, args);
    }

    <T> T await(int seconds, String what, Function<WebDriver, T> condition) {
        return new WebDriverWait(driver, Duration.ofSeconds(seconds), Duration.ofMillis(100))
                .withMessage(() -> what + "; page: " + driver.getCurrentUrl())
                .ignoring(org.openqa.selenium.StaleElementReferenceException.class) // a view re-rendered meanwhile
                .until(condition);
    }

    WebElement find(String id) {
        return driver.findElement(By.id(id));
    }

    List<WebElement> all(String css) {
        return driver.findElements(By.cssSelector(css));
    }

    boolean visible(String id) {
        List<WebElement> found = driver.findElements(By.id(id));
        return !found.isEmpty() && found.get(0).isDisplayed();
    }

    /** A full-page PNG under target/screenshots, for a reviewer (the window grows to the page for it). */
    Path screenshot(String name) throws IOException {
        Files.createDirectories(SCREENSHOTS);
        Dimension window = driver.manage().window().getSize();
        long page = ((Number) js("return Math.max(document.documentElement.scrollHeight, window.innerHeight)")).longValue();
        long viewport = ((Number) js("return window.innerHeight")).longValue();
        File shot;
        if (phoneWidth > 0) {
            emulate((int) Math.min(6000, page));
            try {
                shot = driver.getScreenshotAs(OutputType.FILE);
            } finally {
                emulate(phoneHeight);
            }
        } else if (page > viewport) {
            driver.manage().window().setSize(new Dimension(window.getWidth(),
                    (int) Math.min(6000, window.getHeight() + page - viewport)));
            try {
                shot = driver.getScreenshotAs(OutputType.FILE);
            } finally {
                driver.manage().window().setSize(window);
            }
        } else {
            shot = driver.getScreenshotAs(OutputType.FILE);
        }
        Path target = SCREENSHOTS.resolve(name + ".png");
        Files.copy(shot.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
        return target;
    }

    void login(String base, String user, String password) {
        driver.manage().deleteAllCookies();
        driver.get(base + "/");
        await(20, "the login form", d -> d.getCurrentUrl().contains("/login"));
        find("username").sendKeys(user);
        find("password").sendKeys(password);
        find("login-submit").click();
        await(20, "the dashboard after the login", d -> Boolean.TRUE.equals(js(
                "return !!(window.ringbatchDashboard && window.ringbatchDashboard.ready)")));
    }

    @Override
    public void close() throws IOException {
        try {
            driver.quit();
        } finally {
            try (var files = Files.walk(profile)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
