package io.tune4j.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** One HTTP/1.1 connection on a plain socket: tests control exactly when (and whether) it reads. */
final class RawHttpClient implements AutoCloseable {
    final Socket socket;

    /** receiveBuffer > 0 shrinks the socket's receive window (set before connecting, so the peer sees it). */
    RawHttpClient(int port, int receiveBuffer) throws IOException {
        socket = new Socket();
        if (receiveBuffer > 0) socket.setReceiveBufferSize(receiveBuffer);
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    }

    void send(String method, String path, String body) throws IOException {
        byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        String head = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + (body == null ? "" : "Content-Type: application/json\r\nContent-Length: " + b.length + "\r\n") + "\r\n";
        OutputStream out = socket.getOutputStream();
        out.write(head.getBytes(StandardCharsets.UTF_8));
        out.write(b);
        out.flush();
    }

    /** Reads until text appears in what arrived (or the connection ends); returns everything read so far. */
    String readUntil(String text, ByteArrayOutputStream seen) throws IOException {
        InputStream in = socket.getInputStream();
        byte[] buf = new byte[4096];
        while (!seen.toString(StandardCharsets.UTF_8).contains(text)) {
            int n = in.read(buf);
            if (n < 0) break;
            seen.write(buf, 0, n);
        }
        return seen.toString(StandardCharsets.UTF_8);
    }

    /** Reads until the server closes the connection; returns what arrived. Fails the read after timeoutMillis of silence. */
    String readToEnd(int timeoutMillis) throws IOException {
        socket.setSoTimeout(timeoutMillis);
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        InputStream in = socket.getInputStream();
        byte[] buf = new byte[4096];
        for (int n; (n = in.read(buf)) >= 0; ) seen.write(buf, 0, n);
        return seen.toString(StandardCharsets.UTF_8);
    }

    /** The body of a chunked HTTP/1.1 response (status line and headers dropped, chunks joined). */
    static String chunkedBody(String response) {
        byte[] raw = response.getBytes(StandardCharsets.UTF_8);
        int i = response.indexOf("\r\n\r\n");
        if (i < 0) throw new AssertionError("no end of headers in " + response);
        i = response.substring(0, i + 4).getBytes(StandardCharsets.UTF_8).length;
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (i < raw.length) {
            int eol = i;
            while (eol + 1 < raw.length && !(raw[eol] == '\r' && raw[eol + 1] == '\n')) eol++;
            int size = Integer.parseInt(new String(raw, i, eol - i, StandardCharsets.US_ASCII).trim(), 16);
            if (size == 0) break;
            body.write(raw, eol + 2, size);
            i = eol + 2 + size + 2;
        }
        return body.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
