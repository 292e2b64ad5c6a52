package dev.chorus.edge.http;

import dev.chorus.edge.auth.ApiKeys;
import dev.chorus.edge.auth.Caller;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Each tenant's bounded share of work that grows with its input (reading and parsing a body,
 * tokenizing a prompt): at most {@code concurrency} requests of one tenant in that phase, up to
 * {@code queue} more waiting in arrival order, and 429 + Retry-After beyond that. Other tenants'
 * requests never wait behind one tenant's flood. Operators share one key.
 */
public final class TenantGate {
    private static final String OPERATORS = "";
    private static final String PERMIT = "chorus.tenant-permit";

    /** One admitted request's hold on its tenant's share; releasing twice is harmless. */
    public final class Permit {
        private final String tenant;
        private boolean released;

        private Permit(String tenant) {
            this.tenant = tenant;
        }

        public void release() {
            synchronized (TenantGate.this) {
                if (released) {
                    return;
                }
                released = true;
            }
            next(tenant);
        }
    }

    private record Waiting(Context context, Entry entry) {
    }

    /** What runs once a request is admitted (on its own context). */
    public interface Entry {
        void admitted(Permit permit);
    }

    private final int concurrency;
    private final int queue;
    private final String activity;
    private final Map<String, Integer> running = new HashMap<>();
    private final Map<String, ArrayDeque<Waiting>> waiting = new HashMap<>();

    public TenantGate(int concurrency, int queue) {
        this(concurrency, queue, "being prepared");
    }

    /** {@code activity} says in the 429's message what the tenant has too many requests doing ("being prepared", "in flight"). */
    public TenantGate(int concurrency, int queue, String activity) {
        this.activity = activity;
        if (concurrency < 1 || queue < 0) {
            throw new IllegalArgumentException("a tenant needs at least one concurrent request and a non-negative queue");
        }
        this.concurrency = concurrency;
        this.queue = queue;
    }

    /**
     * Admits {@code caller}'s request now, queues it, or throws {@link RequestRejectedException}
     * (BUSY, retry after 1 s) when its tenant's queue is full. {@code entry} runs on the current
     * Vert.x context; it must release its permit when the bounded phase ends.
     */
    public void enter(Caller caller, Entry entry) {
        String tenant = caller.admin() ? OPERATORS : caller.tenant();
        Permit permit;
        synchronized (this) {
            int now = running.getOrDefault(tenant, 0);
            if (now < concurrency) {
                running.put(tenant, now + 1);
                permit = new Permit(tenant);
            } else {
                ArrayDeque<Waiting> line = waiting.computeIfAbsent(tenant, t -> new ArrayDeque<>());
                if (line.size() >= queue) {
                    throw new RequestRejectedException(RequestRejectedException.Reason.BUSY, "too many requests of this tenant are "
                            + activity + " at once (" + concurrency + " running, " + queue + " waiting); retry shortly", 1);
                }
                line.add(new Waiting(Vertx.currentContext(), entry));
                return;
            }
        }
        entry.admitted(permit);
    }

    /**
     * The gate as a route's admission: the request reads its body only once admitted, and its
     * permit is released by {@link #release(RoutingContext)} or, at the latest, when the response ends.
     */
    public ApiKeys.Admission admission() {
        return (ctx, caller, proceed) -> enter(caller, permit -> {
            if (ctx.response().closed()) { // the client left while it waited
                permit.release();
                return;
            }
            ctx.put(PERMIT, permit);
            ctx.addEndHandler(v -> permit.release());
            proceed.run();
        });
    }

    /** Ends the bounded phase of a request admitted through {@link #admission()}. */
    public static void release(RoutingContext ctx) {
        Permit permit = ctx.get(PERMIT);
        if (permit != null) {
            permit.release();
        }
    }

    /** Requests of {@code tenant} running or waiting (for tests and metrics). */
    public synchronized int load(String tenant) {
        ArrayDeque<Waiting> line = waiting.get(tenant);
        return running.getOrDefault(tenant, 0) + (line == null ? 0 : line.size());
    }

    private void next(String tenant) {
        Waiting w;
        Permit permit;
        synchronized (this) {
            ArrayDeque<Waiting> line = waiting.get(tenant);
            w = line == null ? null : line.poll();
            if (w == null) {
                int now = running.getOrDefault(tenant, 1) - 1;
                if (now <= 0) {
                    running.remove(tenant);
                    waiting.remove(tenant);
                } else {
                    running.put(tenant, now);
                }
                return;
            }
            permit = new Permit(tenant); // the released slot passes straight to the next in line
        }
        Permit handed = permit;
        if (w.context() == null) {
            w.entry().admitted(handed);
        } else {
            w.context().runOnContext(v -> w.entry().admitted(handed));
        }
    }
}
