namespace PSSocket.Sessions
{
    /// <summary>
    /// Who sees a session's traffic: observers added by callers and the one traffic transcript a
    /// session may record to. The list is copied on change, so telling observers takes no lock.
    /// </summary>
    internal sealed class SessionObservers
    {
        private readonly object _lock = new();
        private ISessionObserver[] _observers = Array.Empty<ISessionObserver>();
        private SessionTranscript? _transcript;

        /// <summary>The file traffic is recorded to, or null.</summary>
        public string? TranscriptPath => _transcript?.Path;

        /// <summary>Nobody sees the traffic.</summary>
        public bool IsEmpty => _observers.Length == 0;

        public void Add(ISessionObserver observer)
        {
            if (observer is null)
            {
                throw new ArgumentNullException(nameof(observer));
            }

            lock (_lock)
            {
                var next = new ISessionObserver[_observers.Length + 1];
                Array.Copy(_observers, next, _observers.Length);
                next[_observers.Length] = observer;
                _observers = next;
            }
        }

        public bool Remove(ISessionObserver observer)
        {
            lock (_lock)
            {
                int at = Array.IndexOf(_observers, observer);
                if (at < 0)
                {
                    return false;
                }

                var next = new ISessionObserver[_observers.Length - 1];
                Array.Copy(_observers, 0, next, 0, at);
                Array.Copy(_observers, at + 1, next, at, _observers.Length - at - 1);
                _observers = next;
                return true;
            }
        }

        /// <summary>Starts the transcript that open() makes; fails (via busy) if one is already running.</summary>
        public SessionTranscript StartTranscript(Func<SessionTranscript> open, Func<string, Exception> busy)
        {
            lock (_lock)
            {
                if (_transcript is not null)
                {
                    throw busy(_transcript.Path);
                }

                var transcript = open();
                _transcript = transcript;
                Add(transcript);
                return transcript;
            }
        }

        /// <summary>Stops the running transcript and closes its file; returns its path, or null if none ran.</summary>
        public string? StopTranscript()
        {
            SessionTranscript? transcript;
            lock (_lock)
            {
                transcript = _transcript;
                if (transcript is null)
                {
                    return null;
                }

                _transcript = null;
                Remove(transcript);
            }

            transcript.Note("Transcript stopped");
            transcript.Dispose();
            return transcript.Path;
        }

        public void Notify(DataDirection direction, byte[] data, int offset, int count, bool redacted)
        {
            foreach (var observer in _observers)
            {
                try
                {
                    observer.OnData(direction, data, offset, count, redacted);
                }
                catch (IOException)
                {
                    // A full disk must not break the conversation; the transcript just misses a record.
                }
            }
        }
    }
}
