package frl.io;

import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/** Words for a failed file operation: Java's own messages for these are often the path alone. */
public final class Problems {
    private Problems() {}

    /**
     * Why a file operation failed, in words: the first {@link FileSystemException} in the cause chain as "PATH: what
     * went wrong" (Java's message there is often the path alone), else the exception's own message.
     */
    public static String reason(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause())
            if (t instanceof FileSystemException f) return f.getFile() + ": " + what(f);
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    /** What went wrong, in words, without the path. */
    static String what(FileSystemException f) {
        String fixed = switch (f) {
            case NoSuchFileException x -> "no such file or folder";
            case AccessDeniedException x -> "permission denied";
            case NotDirectoryException x -> "not a folder";
            // createDirectories over a file: the file is where a folder should be
            case FileAlreadyExistsException x -> "exists and is not a folder";
            default -> null;
        };
        if (fixed != null) return fixed;
        return f.getReason() != null ? f.getReason() : f.getClass().getSimpleName();
    }

    /**
     * What a file whose first four bytes (big-endian) are {@code head} looks like, as " (a PNG image)", or "" when it
     * is none of the common kinds: for format errors, where a file of another kind is the usual mistake.
     */
    public static String looksLike(int head) {
        String kind = head == 0x89504E47 ? "a PNG image" : (head >>> 8) == 0xFFD8FF ? "a JPEG image"
                : (head >>> 16) == 0x1F8B ? "a gzip file" : head == 0x504B0304 ? "a zip archive"
                : head == 0x25504446 ? "a PDF" : (head >>> 8) == 0x7B0A20 || (head >>> 24) == '{' ? "JSON text" : null;
        return kind == null ? "" : " (this looks like " + kind + ")";
    }
}
