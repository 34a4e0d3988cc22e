namespace PSSocket.Net
{
    /// <summary>
    /// One place that puts TLS failures into words, so Connect-TcpSocket, Start-SocketTls,
    /// listeners and Test-TcpPort -Tls name the same cause with the same advice; and the checks
    /// on TLS server names (SNI) going out and coming in.
    /// </summary>
    public static class TlsDiagnostics
    {
        /// <summary>The longest DNS name (RFC 1035: 253 characters in text form).</summary>
        public const int MaxHostNameLength = 253;

        /// <summary>
        /// Puts a handshake exception into words with advice: a peer that does not speak TLS, a
        /// version mismatch (-TlsProtocol), a required client certificate (-ClientCertificate).
        /// </summary>
        public static string Describe(Exception ex)
        {
            var parts = new List<string>();
            for (var e = ex; e is not null; e = e.InnerException)
            {
                // Wrappers that only point at their inner exception add nothing.
                if (e.Message.IndexOf("inner exception", StringComparison.OrdinalIgnoreCase) < 0 && !parts.Contains(e.Message.TrimEnd('.')))
                {
                    parts.Add(e.Message.TrimEnd('.'));
                }
            }

            var message = parts.Count == 0 ? ex.Message.TrimEnd('.') : string.Join(": ", parts);
            if (Has(message, "frame size") || Has(message, "corrupted frame") || Has(message, "wrong version number") || Has(message, "packet length too long")
                || Has(message, "record layer failure") || Has(message, "http request"))
            {
                return NotTls;
            }

            if (Has(message, "unexpected EOF") || Has(message, "0 bytes from the transport stream"))
            {
                return ClosedInHandshake;
            }

            if (Has(message, "protocol version") || Has(message, "unsupported protocol") || Has(message, "no protocols available") || Has(message, "version too low")
                || Has(message, "common algorithm"))
            {
                return message + " (the peer accepts none of the TLS versions allowed; see -TlsProtocol)";
            }

            if (Has(message, "certificate required") || Has(message, "peer did not return a certificate"))
            {
                return message + " (the peer requires a client certificate: -ClientCertificate)";
            }

            if (Has(message, "handshake failure"))
            {
                return message + " (the peer and this end share no TLS version, cipher suite or signature algorithm; or the peer wants a client certificate: see -TlsProtocol and -ClientCertificate)";
            }

            return message;
        }

        private const string NotTls = "the peer does not speak TLS: it answered with data that is not a TLS handshake (is this a plain-text port? connect without -UseTls/-Tls, or use STARTTLS with Start-SocketTls)";
        private const string ClosedInHandshake = "the peer closed the connection during the TLS handshake (it may not speak TLS on this port, or it refused our TLS versions or certificate)";

        private const string ClientNotTls = "the client does not speak TLS: it sent data that is not a TLS handshake (a plain-text client on this TLS port: have it connect with TLS, or serve plain-text clients on another port without -Certificate)";
        private const string ClientClosedInHandshake = "the client closed the connection during the TLS handshake (it may not trust this certificate, or it accepts none of the TLS versions allowed here: see -Certificate and -TlsProtocol)";

        /// <summary>
        /// A handshake failure as the serving side's operator reads it (servers, relays, TLS
        /// listeners): the advice <see cref="Describe"/> gives a connecting client ("connect without
        /// -UseTls") becomes advice about the client and this end's -Certificate.
        /// </summary>
        public static string ForServer(string message) =>
            (message ?? throw new ArgumentNullException(nameof(message))).Replace(NotTls, ClientNotTls).Replace(ClosedInHandshake, ClientClosedInHandshake);

        private static bool Has(string text, string part) => text.IndexOf(part, StringComparison.OrdinalIgnoreCase) >= 0;

        /// <summary>
        /// Null when the name can be sent as SNI and checked against a certificate: a DNS name of
        /// at most 253 characters (labels of letters, digits, hyphens and underscores, at most 63
        /// each; international names allowed) or an IP address. Otherwise why not.
        /// </summary>
        public static string? CheckHostName(string? name)
        {
            if (string.IsNullOrEmpty(name))
            {
                return "it is empty";
            }

            if (IPAddress.TryParse(name, out _))
            {
                return null;
            }

            if (name!.Length > MaxHostNameLength)
            {
                return $"it is {name.Length} characters long (a host name has at most {MaxHostNameLength})";
            }

            string trimmed = name.EndsWith(".", StringComparison.Ordinal) ? name.Substring(0, name.Length - 1) : name;
            foreach (var label in trimmed.Split('.'))
            {
                if (label.Length == 0)
                {
                    return "it has an empty label (two dots, or a leading dot)";
                }

                if (label.Length > 63)
                {
                    return $"the label '{Escape(label.Substring(0, 20))}...' is {label.Length} characters long (at most 63)";
                }

                foreach (char c in label)
                {
                    if (!(char.IsLetterOrDigit(c) || c == '-' || c == '_'))
                    {
                        return $"it contains {DescribeChar(c)}";
                    }
                }
            }

            return null;
        }

        /// <summary>
        /// A server name received from a client, fit to store and show: the name itself when it
        /// is a valid host name, else the name with every non-printable or non-ASCII character
        /// escaped (\xNN, \uNNNN), so nothing a peer sends reaches a terminal as a control sequence.
        /// </summary>
        public static string? SafeServerName(string? received)
        {
            if (received is null)
            {
                return null;
            }

            return CheckHostName(received) is null ? received : Escape(received);
        }

        /// <summary>Printable ASCII as is (backslash doubled); everything else as \xNN or \uNNNN.</summary>
        public static string Escape(string text)
        {
            var sb = new StringBuilder(text.Length + 8);
            foreach (char c in text)
            {
                if (c == '\\')
                {
                    sb.Append("\\\\");
                }
                else if (c >= ' ' && c < '\u007f')
                {
                    sb.Append(c);
                }
                else if (c < '\u0100')
                {
                    sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                }
                else
                {
                    sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                }
            }

            return sb.ToString();
        }

        private static string DescribeChar(char c) => c switch
        {
            '\r' => "a carriage return (CR)",
            '\n' => "a line feed (LF)",
            '\0' => "a NUL character",
            ' ' => "a space",
            _ when char.IsControl(c) => "the control character \\x" + ((int)c).ToString("x2", CultureInfo.InvariantCulture),
            _ => $"the character '{c}'",
        };
    }
}
