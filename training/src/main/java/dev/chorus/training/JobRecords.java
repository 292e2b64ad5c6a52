package dev.chorus.training;

import dev.chorus.kafka.TrainingJobEvent;
import java.util.Optional;

/** Where job states are recorded and read back: the jobs topic ({@link Jobs}) in the service. */
public interface JobRecords {
    /** Records {@code job}'s state; returns it once the record is durable. */
    TrainingJobEvent publish(TrainingJobEvent job);

    /** The job's latest recorded state. */
    Optional<TrainingJobEvent> get(String jobId);
}
