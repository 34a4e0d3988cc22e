using PSSocket.Net.Ssh;

namespace PSSocket.Sessions.Ssh
{
    /// <summary>
    /// Which host keys are trusted, strict by default and never a prompt: a key in the known_hosts
    /// file, or one whose SHA256 fingerprint was given. An unknown key fails (HostKeyUnknown)
    /// unless AcceptNew, which appends it to the file; a key that differs from the known one
    /// always fails (HostKeyMismatch); Skip trusts anything.
    /// </summary>
    public sealed class SshHostKeyPolicy
    {
        private static readonly object s_appendLock = new();

        /// <summary>The known_hosts file (default ~/.ssh/known_hosts).</summary>
        public string KnownHostsPath { get; set; } = DefaultKnownHostsPath;

        /// <summary>Fingerprints ("SHA256:...") trusted for this connection.</summary>
        public IList<string> Fingerprints { get; } = new List<string>();

        /// <summary>Trusts an unknown key and appends it to the known_hosts file (OpenSSH's accept-new).</summary>
        public bool AcceptNew { get; set; }

        /// <summary>Trusts any key.</summary>
        public bool Skip { get; set; }

        /// <summary>~/.ssh/known_hosts of the current user.</summary>
        public static string DefaultKnownHostsPath =>
            Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".ssh", "known_hosts");

        /// <summary>
        /// Decides about the key the server showed: returns how it was trusted, or throws
        /// PSSocketException HostKeyUnknown or HostKeyMismatch with the fingerprint and what to do.
        /// </summary>
        public string Verify(string host, int port, byte[] keyBlob)
        {
            string fingerprint = KnownHosts.Fingerprint(keyBlob);
            string type = KnownHosts.KeyType(keyBlob);
            string target = KnownHosts.HostName(host, port);
            if (Skip)
            {
                return $"host key {type} {fingerprint} not checked (-SkipHostKeyCheck)";
            }

            var known = ReadKnownHosts();
            var status = known.Check(host, port, keyBlob);
            if (status == HostKeyStatus.Revoked)
            {
                throw new PSSocketException(SocketErrorKind.HostKeyMismatch,
                    $"The host key of {target} ({type} {fingerprint}) is marked @revoked in '{KnownHostsPath}'. Do not connect: the key was withdrawn.", target: target);
            }

            if (status == HostKeyStatus.Changed)
            {
                throw new PSSocketException(SocketErrorKind.HostKeyMismatch,
                    $"The host key of {target} has changed: the server showed {type} {fingerprint}, and '{KnownHostsPath}' holds another {type} key for it. Someone may be intercepting the connection, or the host was reinstalled. If you know the new key is right, remove the old line (ssh-keygen -R '{target}' -f '{KnownHostsPath}') and connect again; -AcceptNewHostKey does not replace a known key.", target: target);
            }

            foreach (var given in Fingerprints)
            {
                if (KnownHosts.FingerprintMatches(given, keyBlob))
                {
                    return $"host key {type} {fingerprint} matches -HostKeyFingerprint";
                }
            }

            if (status == HostKeyStatus.Known)
            {
                return $"host key {type} {fingerprint} found in '{KnownHostsPath}'";
            }

            if (Fingerprints.Count > 0)
            {
                throw new PSSocketException(SocketErrorKind.HostKeyMismatch,
                    $"The host key of {target} is {type} {fingerprint}, which matches none of the -HostKeyFingerprint values given ({string.Join(", ", Fingerprints)}). Someone may be intercepting the connection, or the host's key changed.", target: target);
            }

            if (AcceptNew)
            {
                Append(host, port, keyBlob);
                return $"host key {type} {fingerprint} was new and is now added to '{KnownHostsPath}'";
            }

            throw new PSSocketException(SocketErrorKind.HostKeyUnknown,
                $"The host key of {target} is not known: {type} {fingerprint}. Check that fingerprint with the host's owner (on the host: ssh-keygen -lf /etc/ssh/ssh_host_{ShortType(type)}_key.pub), then trust it with -HostKeyFingerprint '{fingerprint}', or add it to '{KnownHostsPath}' with -AcceptNewHostKey (or ssh-keyscan).", target: target);
        }

        private static string ShortType(string type) => type switch
        {
            "ssh-ed25519" => "ed25519",
            "ssh-rsa" => "rsa",
            _ when type.StartsWith("ecdsa", StringComparison.Ordinal) => "ecdsa",
            _ => "*",
        };

        /// <summary>The key types the known_hosts file holds for the host, to offer first in the key exchange.</summary>
        public IReadOnlyList<string> KnownKeyTypes(string host, int port) =>
            Skip ? Array.Empty<string>() : ReadKnownHosts().KnownKeyTypes(host, port);

        private KnownHosts ReadKnownHosts()
        {
            try
            {
                return KnownHosts.Parse(File.Exists(KnownHostsPath) ? File.ReadAllText(KnownHostsPath) : "");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"The known_hosts file '{KnownHostsPath}' cannot be read: {ex.Message}", ex, target: KnownHostsPath);
            }
        }

        private void Append(string host, int port, byte[] keyBlob)
        {
            string line = KnownHosts.FormatLine(host, port, keyBlob) + "\n";
            try
            {
                lock (s_appendLock)
                {
                    var dir = Path.GetDirectoryName(KnownHostsPath);
                    if (!string.IsNullOrEmpty(dir))
                    {
                        Directory.CreateDirectory(dir);
                    }

                    bool existed = File.Exists(KnownHostsPath);
                    bool needsBreak = existed && EndsWithoutNewline(KnownHostsPath);
                    using var file = existed
                        ? new FileStream(KnownHostsPath, FileMode.Append, FileAccess.Write, FileShare.Read)
                        : OutputFile.Open(KnownHostsPath, append: true, noClobber: false, ownerOnly: true);
                    var bytes = Encoding.UTF8.GetBytes((needsBreak ? "\n" : "") + line);
                    file.Write(bytes, 0, bytes.Length);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"The new host key could not be added to '{KnownHostsPath}': {ex.Message}", ex, target: KnownHostsPath);
            }
        }

        private static bool EndsWithoutNewline(string path)
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (f.Length == 0)
            {
                return false;
            }

            f.Seek(-1, SeekOrigin.End);
            return f.ReadByte() != '\n';
        }
    }
}
