package dev.chorus.kafka;

import java.time.Instant;
import java.util.Map;

/**
 * One entry of a job's event log (OpenAI's {@code fine_tuning.job.event}): a message (the job was
 * queued, started, published a version, ...) or metrics (step, train loss, validation loss) as
 * training goes. {@code id} is unique within the job and orders its log.
 */
public record JobLogEvent(String id, Instant at, Level level, Type type, String message, Map<String, Double> data) {
    public enum Level { INFO, WARN, ERROR }

    public enum Type { MESSAGE, METRICS }

    public JobLogEvent {
        Names.present("id", id);
        Names.present("at", at);
        Names.present("level", level);
        Names.present("type", type);
        Names.present("message", message);
        data = data == null ? Map.of() : Map.copyOf(data);
    }
}
