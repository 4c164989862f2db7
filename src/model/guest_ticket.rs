//! Owns guest credential tickets: what `AcquireCredentialsInGuest` hands out, so that later
//! calls authenticate with a `TicketedSessionAuthentication` instead of the password, until
//! `ReleaseCredentialsInGuest` or the guest's next boot.

use std::collections::VecDeque;

/// The most tickets one guest holds; acquiring another drops the oldest.
pub const TICKETS_MAX: usize = 64;

/// The tickets a guest has issued, oldest first, each with the guest user it stands for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestTickets {
    issued: VecDeque<(String, String)>,
}

impl GuestTickets {
    /// Records `ticket` for `user`, dropping the oldest ticket when [`TICKETS_MAX`] are held.
    pub fn issue(&mut self, ticket: String, user: &str) {
        if self.issued.len() >= TICKETS_MAX {
            self.issued.pop_front();
        }
        self.issued.push_back((ticket, user.to_owned()));
    }

    /// The guest user `ticket` stands for, if it is held.
    pub fn user(&self, ticket: &str) -> Option<&str> {
        self.issued
            .iter()
            .find(|(t, _)| t == ticket)
            .map(|(_, u)| u.as_str())
    }

    /// Ends `ticket`; whether it was held.
    pub fn release(&mut self, ticket: &str) -> bool {
        let before = self.issued.len();
        self.issued.retain(|(t, _)| t != ticket);
        self.issued.len() != before
    }

    /// Ends every ticket (the guest halted or booted again).
    pub fn clear(&mut self) {
        self.issued.clear();
    }

    /// How many tickets are held.
    pub fn len(&self) -> usize {
        self.issued.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.issued.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_stands_for_its_user_until_released_and_the_oldest_goes_first_when_full() {
        let mut t = GuestTickets::default();
        t.issue("a".into(), "root");
        assert_eq!(t.user("a"), Some("root"));
        assert!(t.release("a"));
        assert!(!t.release("a"));
        assert_eq!(t.user("a"), None);
        for i in 0..=TICKETS_MAX {
            t.issue(format!("t{i}"), "alice");
        }
        assert_eq!(t.len(), TICKETS_MAX);
        assert_eq!(t.user("t0"), None, "the oldest was dropped");
        assert_eq!(t.user(&format!("t{TICKETS_MAX}")), Some("alice"));
        t.clear();
        assert!(t.is_empty());
    }
}
