package dev.chorus.training;

import dev.chorus.kafka.JobRequest;
import dev.chorus.kafka.TrainingJobEvent;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * The {@code validating_files} step of an API job: its files must still be there, be its tenant's,
 * hold what its method trains on (supervised examples, or preference pairs for DPO) and pass the
 * line-by-line check; then the job is queued, else it fails with {@code invalid_training_file} or
 * {@code invalid_validation_file} naming the parameter. Run right after the job is created, and by
 * the scheduler for any job a restart left validating.
 */
@ApplicationScoped
public class FileValidation {
    private static final Logger LOG = Logger.getLogger(FileValidation.class);

    private final Jobs jobs;
    private final FileStore files;
    private final Clock clock;

    public FileValidation(Jobs jobs, FileStore files, Clock clock) {
        this.jobs = jobs;
        this.files = files;
        this.clock = clock;
    }

    /** Moves the job on from {@code validating_files}, if it is still there. */
    public synchronized void validate(String jobId) {
        Optional<TrainingJobEvent> current = jobs.get(jobId).filter(j -> j.state() == TrainingJobEvent.State.VALIDATING_FILES);
        if (current.isEmpty()) {
            return;
        }
        TrainingJobEvent job = current.get();
        JobRequest r = job.request();
        try {
            String problem = problem(job, r.trainingFile(), r.method(), false);
            if (problem != null) {
                jobs.publish(job.failed("invalid_training_file", problem, "training_file", clock.instant()));
                return;
            }
            // a supervised job may be validated on preference pairs too (loss on the preferred answers, and the margin)
            problem = r.validationFile() == null ? null : problem(job, r.validationFile(), r.method(), r.method() == JobRequest.Method.SUPERVISED);
            if (problem != null) {
                jobs.publish(job.failed("invalid_validation_file", problem, "validation_file", clock.instant()));
                return;
            }
            jobs.publish(job.validated(clock.instant()));
        } catch (JobEndedException e) {
            LOG.infof("%s was %s while its files were checked", jobId, e.job().state());
        }
    }

    /** What is wrong with the file for this job, or null. */
    private String problem(TrainingJobEvent job, String fileId, JobRequest.Method method, boolean pairsToo) {
        Optional<TrainingFile> file = files.get(fileId).filter(f -> f.tenant().equals(job.tenant()));
        if (file.isEmpty()) {
            return "file " + fileId + " no longer exists";
        }
        TrainingFile.Kind wanted = method == JobRequest.Method.DPO ? TrainingFile.Kind.PREFERENCE : TrainingFile.Kind.SUPERVISED;
        if (file.get().kind() != wanted && !(pairsToo && file.get().kind() == TrainingFile.Kind.PREFERENCE)) {
            return "file " + fileId + " holds " + name(file.get().kind()) + " but method " + method.name().toLowerCase(java.util.Locale.ROOT)
                    + " trains on " + name(wanted);
        }
        try {
            TrainingFileFormat.check(files.content(file.get()));
            return null;
        } catch (InvalidTrainingFileException e) {
            return "file " + fileId + ": " + e.getMessage();
        }
    }

    private static String name(TrainingFile.Kind kind) {
        return kind == TrainingFile.Kind.PREFERENCE ? "preference pairs ({\"input\", \"preferred_output\", \"non_preferred_output\"})"
                : "supervised examples ({\"messages\"} or {\"prompt\", \"completion\"})";
    }
}
