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

    private static String what(FileSystemException f) {
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
}
