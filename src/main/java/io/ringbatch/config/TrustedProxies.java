package io.ringbatch.config;

import java.util.ArrayList;
import java.util.List;
import org.apache.catalina.Valve;
import org.apache.catalina.util.NetMaskSet;
import org.apache.catalina.valves.RemoteIpValve;
import org.springframework.boot.tomcat.TomcatWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.core.Ordered;

/**
 * Whose {@code X-Forwarded-For} and {@code X-Forwarded-Proto} count: only those of a peer inside
 * {@code ringbatch.security.trusted-proxies} (CIDRs; none by default). Spring Boot, when it finds itself
 * on Kubernetes (or with {@code server.forward-headers-strategy=native}), makes Tomcat trust them from
 * every private address, which includes every other pod: a client could then name any address it likes
 * and guess passwords without ever meeting the login throttle. This runs after Boot's own customizer,
 * drops the valve it added, and adds one that trusts the configured proxies only. Behind such a proxy the
 * throttle sees each client's own address, and {@code request.isSecure()} (hence the cookies'
 * {@code Secure}) follows the proxy's TLS.
 */
class TrustedProxies implements WebServerFactoryCustomizer<TomcatWebServerFactory>, Ordered {
    private final List<String> cidrs;

    TrustedProxies(List<String> cidrs) {
        this.cidrs = cidrs == null ? List.of() : cidrs.stream().map(String::strip).filter(c -> !c.isEmpty()).toList();
        if (!this.cidrs.isEmpty()) {
            NetMaskSet.parse(String.join(",", this.cidrs)); // refuses what is not an address or a CIDR at start-up
        }
    }

    @Override
    public void customize(TomcatWebServerFactory factory) {
        List<Valve> valves = new ArrayList<>();
        for (Valve valve : factory.getEngineValves()) {
            if (!(valve instanceof RemoteIpValve)) {
                valves.add(valve);
            }
        }
        if (!cidrs.isEmpty()) {
            RemoteIpValve valve = new RemoteIpValve();
            // an address with '/' makes Tomcat read the list as CIDRs rather than a regex
            valve.setInternalProxies(String.join(",", cidrs.stream().map(c -> c.contains("/") ? c
                    : c + (c.contains(":") ? "/128" : "/32")).toList()));
            valve.setTrustedProxies(null);
            valve.setRemoteIpHeader("X-Forwarded-For");
            valve.setProtocolHeader("X-Forwarded-Proto");
            valve.setHostHeader("X-Forwarded-Host");
            valve.setPortHeader("X-Forwarded-Port");
            valves.add(valve);
        }
        factory.setEngineValves(valves);
    }

    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }
}
