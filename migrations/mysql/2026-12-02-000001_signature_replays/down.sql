DROP TABLE signature_replays;
