"""Speech front end: audio sources, utterance reassembly, speech recognition (ROS-free)."""
