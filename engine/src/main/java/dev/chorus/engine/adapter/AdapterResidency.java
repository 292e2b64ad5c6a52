package dev.chorus.engine.adapter;

import dev.chorus.engine.EngineException;

/**
 * Where one adapter version stands in the {@link AdapterCache}, its only keeper. The transitions:
 * absent → Loading (a request or a prefetch asked for it) → Host (parsed and validated) → Device
 * (uploaded into a slot, pinned while requests use it) → Host again when its slot is needed, or
 * absent when the host tier is full or it is evicted. A load or upload that fails leaves Failed; the
 * next request for it starts a new load.
 */
public sealed interface AdapterResidency {

    /** A background load is under way; requests for it wait. {@code started}: System.nanoTime() when it was asked for. */
    record Loading(long started) implements AdapterResidency {
    }

    /**
     * Parsed in host memory, ready to upload. {@code loadNanos}: how long the load took, until its
     * first upload reports it; −1 once reported (it has been on the device before).
     */
    record Host(Adapter adapter, long loadNanos) implements AdapterResidency {
        public Host {
            if (adapter == null) {
                throw new IllegalArgumentException("a host-resident adapter needs its weights");
            }
        }
    }

    /**
     * In device slot {@code slot} (its parsed copy stays in host memory too). {@code pins}: requests
     * using it; {@code retiring}: evicted while pinned, dropped when the last pin goes.
     */
    record Device(Adapter adapter, int slot, int pins, boolean retiring) implements AdapterResidency {
        public Device {
            if (adapter == null || slot < 1 || pins < 0 || (retiring && pins == 0)) {
                throw new IllegalArgumentException("inconsistent device residency: slot " + slot + ", pins " + pins + ", retiring " + retiring);
            }
        }

        Device withPins(int n) {
            return new Device(adapter, slot, n, retiring && n > 0);
        }
    }

    /** The last load or upload failed; requests waiting then got {@code error}, a later request retries. */
    record Failed(EngineException error) implements AdapterResidency {
    }
}
