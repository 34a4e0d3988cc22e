using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace PSSocket.Net.Ssh
{
    /// <summary>What a known_hosts file says about a host's key.</summary>
    public enum HostKeyStatus
    {
        /// <summary>No line names this host with a key of this type.</summary>
        Unknown,
        /// <summary>A line names this host with exactly this key.</summary>
        Known,
        /// <summary>Lines name this host with another key of the same type: the key changed.</summary>
        Changed,
        /// <summary>A @revoked line holds this key.</summary>
        Revoked,
    }

    /// <summary>
    /// OpenSSH's known_hosts format, read without any I/O: plain host names and addresses,
    /// <c>[host]:port</c> for ports other than 22, wildcards (<c>*</c>, <c>?</c>) and negations
    /// (<c>!</c>), hashed names (<c>|1|salt|hash</c>, HMAC-SHA1), and the <c>@revoked</c> marker
    /// (<c>@cert-authority</c> lines are skipped: certificates are not used here).
    /// </summary>
    public sealed class KnownHosts
    {
        private static readonly char[] s_fieldSeparators = { ' ', '\t' };
        private static readonly char[] s_wildcards = { '*', '?' };
        private readonly List<Entry> _entries = new();

        private KnownHosts()
        {
        }

        /// <summary>How many host lines were read (comments, blank and unreadable lines not counted).</summary>
        public int Count => _entries.Count;

        /// <summary>Reads the text of a known_hosts file; lines it cannot read are skipped, as OpenSSH does.</summary>
        public static KnownHosts Parse(string text)
        {
            var hosts = new KnownHosts();
            foreach (var raw in (text ?? "").Split('\n'))
            {
                if (Entry.TryParse(raw.Trim(), out var entry))
                {
                    hosts._entries.Add(entry);
                }
            }

            return hosts;
        }

        /// <summary>Looks a key (its SSH wire blob) up for a host and port.</summary>
        public HostKeyStatus Check(string host, int port, byte[] keyBlob)
        {
            if (keyBlob is null)
            {
                throw new ArgumentNullException(nameof(keyBlob));
            }

            string type = KeyType(keyBlob);
            string name = HostName(host, port);
            bool sameTypeOtherKey = false;
            foreach (var e in _entries)
            {
                if (e.Revoked && e.SameKey(keyBlob))
                {
                    return HostKeyStatus.Revoked;
                }
            }

            foreach (var e in _entries)
            {
                if (e.Revoked || !e.Matches(name))
                {
                    continue;
                }

                if (e.SameKey(keyBlob))
                {
                    return HostKeyStatus.Known;
                }

                sameTypeOtherKey |= e.KeyType == type;
            }

            return sameTypeOtherKey ? HostKeyStatus.Changed : HostKeyStatus.Unknown;
        }

        /// <summary>The key types this file knows for the host and port (to prefer them in the key exchange).</summary>
        public IReadOnlyList<string> KnownKeyTypes(string host, int port)
        {
            string name = HostName(host, port);
            var types = new List<string>();
            foreach (var e in _entries)
            {
                if (!e.Revoked && e.Matches(name) && !types.Contains(e.KeyType))
                {
                    types.Add(e.KeyType);
                }
            }

            return types;
        }

        /// <summary>The name OpenSSH looks a host up by: the host, or <c>[host]:port</c> when the port is not 22.</summary>
        public static string HostName(string host, int port)
        {
            host = (host ?? "").Trim().ToLowerInvariant();
            if (host.StartsWith("[", StringComparison.Ordinal) && host.EndsWith("]", StringComparison.Ordinal))
            {
                host = host.Substring(1, host.Length - 2);
            }

            return port == 22 ? host : $"[{host}]:{port.ToString(CultureInfo.InvariantCulture)}";
        }

        /// <summary>The line OpenSSH would append for a host key: <c>name type base64</c>.</summary>
        public static string FormatLine(string host, int port, byte[] keyBlob) =>
            $"{HostName(host, port)} {KeyType(keyBlob)} {Convert.ToBase64String(keyBlob)}";

        /// <summary>OpenSSH's fingerprint of a key: <c>SHA256:</c> and the unpadded base64 of its SHA-256 hash.</summary>
        public static string Fingerprint(byte[] keyBlob)
        {
            using var sha = SHA256.Create();
            return "SHA256:" + Convert.ToBase64String(sha.ComputeHash(keyBlob)).TrimEnd('=');
        }

        /// <summary>True when a fingerprint given by a user ("SHA256:abc...", with or without the prefix or padding) is this key's.</summary>
        public static bool FingerprintMatches(string given, byte[] keyBlob)
        {
            string g = (given ?? "").Trim().TrimEnd('=');
            if (g.StartsWith("SHA256:", StringComparison.OrdinalIgnoreCase))
            {
                g = g.Substring("SHA256:".Length);
            }

            return g.Length > 0 && string.Equals(g, Fingerprint(keyBlob).Substring("SHA256:".Length), StringComparison.Ordinal);
        }

        /// <summary>True when a string has the shape of an OpenSSH SHA256 fingerprint (43 base64 characters after SHA256:).</summary>
        public static bool IsFingerprint(string value) =>
            value is not null && Regex.IsMatch(value.Trim(), @"^SHA256:[A-Za-z0-9+/]{43}=?$");

        /// <summary>The key type named inside a key blob ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", ...).</summary>
        public static string KeyType(byte[] keyBlob)
        {
            if (keyBlob is null || keyBlob.Length < 4)
            {
                return "";
            }

            int n = (keyBlob[0] << 24) | (keyBlob[1] << 16) | (keyBlob[2] << 8) | keyBlob[3];
            return n <= 0 || n > keyBlob.Length - 4 ? "" : Encoding.ASCII.GetString(keyBlob, 4, n);
        }

        private sealed class Entry
        {
            private string[] _patterns = Array.Empty<string>();
            private byte[] _key = Array.Empty<byte>();

            public bool Revoked { get; private set; }

            public string KeyType { get; private set; } = "";

            public static bool TryParse(string line, out Entry entry)
            {
                entry = new Entry();
                if (line.Length == 0 || line[0] == '#')
                {
                    return false;
                }

                var fields = line.Split(s_fieldSeparators, StringSplitOptions.RemoveEmptyEntries);
                int i = 0;
                if (fields[0].StartsWith("@", StringComparison.Ordinal))
                {
                    if (!string.Equals(fields[0], "@revoked", StringComparison.OrdinalIgnoreCase))
                    {
                        return false;
                    }

                    entry.Revoked = true;
                    i = 1;
                }

                if (fields.Length < i + 3)
                {
                    return false;
                }

                try
                {
                    entry._key = Convert.FromBase64String(fields[i + 2]);
                }
                catch (FormatException)
                {
                    return false;
                }

                entry._patterns = fields[i].Split(',');
                entry.KeyType = fields[i + 1];
                return true;
            }

            public bool SameKey(byte[] blob)
            {
                if (blob.Length != _key.Length)
                {
                    return false;
                }

                for (int i = 0; i < blob.Length; i++)
                {
                    if (blob[i] != _key[i])
                    {
                        return false;
                    }
                }

                return true;
            }

            /// <summary>A positive pattern matches and no negated one does (OpenSSH's match_hostname).</summary>
            public bool Matches(string name)
            {
                bool matched = false;
                foreach (var p in _patterns)
                {
                    bool negated = p.StartsWith("!", StringComparison.Ordinal);
                    string pattern = negated ? p.Substring(1) : p;
                    if (!PatternMatches(pattern, name))
                    {
                        continue;
                    }

                    if (negated)
                    {
                        return false;
                    }

                    matched = true;
                }

                return matched;
            }

            private static bool PatternMatches(string pattern, string name)
            {
                if (pattern.StartsWith("|1|", StringComparison.Ordinal))
                {
                    return HashedMatches(pattern, name);
                }

                if (pattern.IndexOfAny(s_wildcards) < 0)
                {
                    return string.Equals(pattern, name, StringComparison.OrdinalIgnoreCase);
                }

                var regex = "^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$";
                return Regex.IsMatch(name, regex, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
            }

            private static bool HashedMatches(string pattern, string name)
            {
                var parts = pattern.Split('|');
                if (parts.Length != 4)
                {
                    return false;
                }

                try
                {
                    var salt = Convert.FromBase64String(parts[2]);
                    var expected = Convert.FromBase64String(parts[3]);
                    // OpenSSH's hashed names are HMAC-SHA1 by definition; matching them is not a choice of algorithm.
#pragma warning disable CA5350
                    using var hmac = new HMACSHA1(salt);
#pragma warning restore CA5350
                    var actual = hmac.ComputeHash(Encoding.UTF8.GetBytes(name));
                    return Convert.ToBase64String(actual) == Convert.ToBase64String(expected);
                }
                catch (FormatException)
                {
                    return false;
                }
            }
        }
    }
}
