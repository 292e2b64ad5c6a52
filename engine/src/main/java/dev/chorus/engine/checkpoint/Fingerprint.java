package dev.chorus.engine.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * sha256 identity of a checkpoint: of the file itself, or for a directory of its config and
 * weight files (name and content, in name order), so adapters and compressed models can name the
 * exact base they were made from.
 */
public final class Fingerprint {
    private Fingerprint() {
    }

    public static String of(Path checkpoint) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            if (Files.isDirectory(checkpoint)) {
                List<Path> files;
                try (Stream<Path> s = Files.list(checkpoint)) {
                    files = s.filter(Files::isRegularFile).filter(Fingerprint::isModelFile).sorted().toList();
                }
                for (Path f : files) {
                    sha.update(f.getFileName().toString().getBytes(StandardCharsets.UTF_8));
                    digest(sha, f);
                }
            } else {
                digest(sha, checkpoint);
            }
            return "sha256:" + HexFormat.of().formatHex(sha.digest());
        } catch (IOException e) {
            throw new CheckpointFormatException(checkpoint + ": cannot fingerprint: " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean isModelFile(Path f) {
        String n = f.getFileName().toString();
        return n.equals("config.json") || n.equals("chorus_compression.json") || n.endsWith(".safetensors")
                || n.equals("model.safetensors.index.json");
    }

    private static void digest(MessageDigest sha, Path file) throws IOException {
        byte[] buffer = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                sha.update(buffer, 0, n);
            }
        }
    }
}
